// The Debian package's maintainer scripts (docs/debian/) on a real root, as dpkg runs them,
// without changing this machine: each runs in its own mount namespace (unshare -m) where
// /usr/bin shows this machine's programs plus an unstripped pmtr, /etc/init.d holds only
// sysvinit/pmtr, /etc/rc?.d and /run are empty tmpfs (with /run/systemd/system for "a systemd
// host"), and update-rc.d, invoke-rc.d, systemctl, deb-systemd-invoke, deb-systemd-helper and
// pidof are stubs that record how they were called.
// What is asserted: they enable, start and restart nothing; an upgrade leaves a running pmtr
// alone; removal stops it; purge forgets the init links and the unit. One test runs the real
// update-rc.d on tmpfs runlevel directories: disabled links on install, the operator's enable
// kept by an upgrade, none left by purge.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { PMTR, join, readOr, rmSync, tempDir } from "../helpers.ts";
import { ROOT, requireTool, run } from "./dist-lib.ts";

const STUBS = ["update-rc.d", "invoke-rc.d", "systemctl", "deb-systemd-invoke", "deb-systemd-helper", "pidof"];
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Inside the namespace: the view described above, then the maintainer script with its arguments. */
const DRIVER = `set -e
t=$1 host=$2; shift 2
mount -t tmpfs pmtr-test-run /run
if [ "$host" = systemd ]; then mkdir -p /run/systemd/system; fi
mkdir "$t/orig" "$t/usr-bin"
mount --bind /usr/bin "$t/orig"
ln -s "$t"/orig/* "$t/usr-bin/"
: > "$t/usr-bin/pmtr"
mount --bind "$t/usr-bin" /usr/bin
mount --bind "$PMTR_BINARY" /usr/bin/pmtr
mount -t tmpfs pmtr-test-init.d /etc/init.d
cp "$INIT_SCRIPT" /etc/init.d/pmtr
for d in /etc/rc0.d /etc/rc1.d /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d /etc/rc6.d /etc/rcS.d; do
	mkdir -p "$d" && mount -t tmpfs pmtr-test-rc "$d"
done
export PATH="$t/stubs:/usr/sbin:/usr/bin:/sbin:/bin"
exec "$@"
`;

interface Outcome {
  code: number;
  out: string;
  calls: string[];
}

/** Run docs/debian/SCRIPT ARGS on a `host` ("sysvinit" or "systemd"); `pidof` answers `running`. */
function maintainerScript(host: "sysvinit" | "systemd", script: string, args: string[], running: string | null = null): Outcome {
  return inNamespace(host, [resolve(ROOT, "docs/debian", script), ...args], STUBS, running);
}

/** Run `argv` in the namespace with the tools in `stubs` recorded (the others are real). */
function inNamespace(host: "sysvinit" | "systemd", argv: string[], stubs: readonly string[], running: string | null = null): Outcome {
  const unshare = requireTool("unshare", "util-linux");
  const t = tempDir("pmtr-maint-");
  dirs.push(t);
  mkdirSync(join(t, "stubs"));
  for (const stub of stubs) {
    const body = stub === "pidof"
      ? `#!/bin/sh\necho "pidof $*" >> ${t}/calls\n[ -n "$PIDOF_ANSWER" ] && echo "$PIDOF_ANSWER"\n`
      : `#!/bin/sh\necho "${stub} $*" >> ${t}/calls\n`;
    writeFileSync(join(t, "stubs", stub), body);
    chmodSync(join(t, "stubs", stub), 0o755);
  }
  const r = run([unshare, "-m", "--propagation", "private", "sh", "-c", DRIVER, "driver", t, host, ...argv], {
    env: { PMTR_BINARY: PMTR, INIT_SCRIPT: resolve(ROOT, "sysvinit/pmtr"), PIDOF_ANSWER: running ?? "", DPKG_ROOT: "", DPKG_MAINTSCRIPT_PACKAGE: "pmtr" },
    timeoutMs: 60_000,
  });
  const calls = readOr(join(t, "calls")).split("\n").filter(Boolean);
  return { code: r.code, out: r.out, calls };
}

/** The calls that would change what runs: any start, restart, reload, enable or unmask
 *  (systemd's daemon-reload only rereads unit files). */
const enabling = (calls: string[]) => calls.filter((c) => / (start|restart|try-restart|reload|force-reload|enable|unmask|defaults)( |$)/.test(c));

describe.each(["sysvinit", "systemd"] as const)("maintainer scripts on a %s host", (host) => {
  test("postinst configure (first install): checks the binary, registers the init script disabled, starts nothing", () => {
    const r = maintainerScript(host, "postinst", ["configure", ""]);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
    const expected = ["update-rc.d pmtr defaults-disabled"];
    if (host === "systemd") expected.push("systemctl --system daemon-reload");
    expect(r.calls).toEqual(expected);
    expect(enabling(r.calls)).toEqual([]);
  });

  test("postinst configure (upgrade) with pmtr running: says so and restarts nothing", () => {
    const r = maintainerScript(host, "postinst", ["configure", "0.0.9"], "4242");
    expect(r.code).toBe(0);
    expect(r.out).toContain("pmtr is running (pid 4242) and was not restarted, since that stops every job");
    expect(enabling(r.calls)).toEqual([]);
    expect(r.calls.filter((c) => /stop|kill/.test(c))).toEqual([]);
  });

  test("prerm: an upgrade stops nothing; removal stops pmtr", () => {
    const upgrade = maintainerScript(host, "prerm", ["upgrade", "0.1.1"]);
    expect(upgrade.code).toBe(0);
    expect(upgrade.calls).toEqual([]);
    const remove = maintainerScript(host, "prerm", ["remove"]);
    expect(remove.code).toBe(0);
    expect(remove.calls).toEqual([host === "systemd" ? "deb-systemd-invoke stop pmtr.service" : "invoke-rc.d pmtr stop"]);
  });

  test("postrm: purge forgets the runlevel links and the unit's state", () => {
    const purge = maintainerScript(host, "postrm", ["purge"]);
    expect(purge.code).toBe(0);
    expect(purge.calls).toEqual(["update-rc.d pmtr remove", "deb-systemd-helper purge pmtr.service"]);
    const remove = maintainerScript(host, "postrm", ["remove"]);
    expect(remove.code).toBe(0);
    expect(remove.calls).toEqual(host === "systemd" ? ["systemctl --system daemon-reload"] : []);
  });
});

test("with the real update-rc.d: installed disabled, the operator's enable holds across an upgrade, purge removes the links", () => {
  const d = resolve(ROOT, "docs/debian");
  // Each step prints the runlevel links it leaves, as "rcN.d/NAME" words on one line.
  const steps = `set -e
links() { echo "$1: $(cd /etc && ls -d rc?.d/* 2>/dev/null | tr '\\n' ' ')"; }
${d}/postinst configure ""; links install
update-rc.d pmtr enable >/dev/null 2>&1; links enable
${d}/postinst configure 0.0.9; links upgrade
${d}/prerm remove; rm /etc/init.d/pmtr; ${d}/postrm remove; ${d}/postrm purge; links purge
`;
  const r = inNamespace("sysvinit", ["sh", "-c", steps], STUBS.filter((s) => s !== "update-rc.d"));
  expect(r.code).toBe(0);
  const lines = r.out.trim().split("\n");
  const kill = "rc0.d/K01pmtr rc1.d/K01pmtr", start = "rc2.d/S01pmtr rc3.d/S01pmtr rc4.d/S01pmtr rc5.d/S01pmtr";
  expect(lines).toEqual([
    `install: ${kill} rc2.d/K01pmtr rc3.d/K01pmtr rc4.d/K01pmtr rc5.d/K01pmtr rc6.d/K01pmtr `,
    `enable: ${kill} ${start} rc6.d/K01pmtr `,
    `upgrade: ${kill} ${start} rc6.d/K01pmtr `,
    "purge:",
  ]);
  // The only service action of the whole life: removal's stop.
  expect(r.calls.filter((c) => /^(invoke-rc\.d|deb-systemd-invoke) /.test(c))).toEqual(["invoke-rc.d pmtr stop"]);
});
