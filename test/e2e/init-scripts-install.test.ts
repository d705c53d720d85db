// `make install` / `make uninstall` into a temporary DESTDIR, and the installed systemd unit
// checked by `systemd-analyze verify` (Debian's systemd package, installed by .ci/run); where
// that tool is absent the unit's structure is still checked by init-scripts-units.test.ts.
// `-o dist/pmtr` keeps make from rebuilding the binary the rest of the suite is testing.

import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { PMTR, join, rmSync, tempDir } from "../helpers.ts";

const ROOT = resolve(import.meta.dir, "../..");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function make(...args: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(["make", "-s", "-C", ROOT, "-o", "dist/pmtr", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

/** Every file under `dir` with its permission bits, as "0755 usr/bin/pmtr". */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${(statSync(p).mode & 0o7777).toString(8).padStart(4, "0")} ${relative(dir, p)}`);
    }
  };
  walk(dir);
  return out.sort();
}

function fresh(): string {
  const d = tempDir("pmtr-install-");
  dirs.push(d);
  return d;
}

describe("make install / uninstall", () => {
  test("DESTDIR with the default PREFIX /usr, then uninstall leaves none of pmtr's files", () => {
    const dest = fresh();
    const installed = make("install", `DESTDIR=${dest}`);
    expect(installed.code).toBe(0);
    expect(listing(dest)).toEqual([
      "0644 usr/share/bash-completion/completions/pmtr",
      "0644 usr/share/doc/pmtr/examples/pmtr.conf",
      "0644 usr/share/man/man5/pmtr.conf.5",
      "0644 usr/share/man/man8/pmtr.8",
      "0644 usr/share/pmtr/systemd/pmtr.service",
      "0644 usr/share/pmtr/upstart/pmtr.conf",
      "0755 usr/bin/pmtr",
      "0755 usr/share/pmtr/sysvinit/pmtr",
    ].sort());
    expect(readFileSync(join(dest, "usr/bin/pmtr")).equals(readFileSync(PMTR))).toBe(true);
    expect(readFileSync(join(dest, "usr/share/man/man8/pmtr.8"), "utf8")).toBe(readFileSync(join(ROOT, "docs/man/pmtr.8"), "utf8"));
    expect(readFileSync(join(dest, "usr/share/doc/pmtr/examples/pmtr.conf"), "utf8")).toBe(readFileSync(join(ROOT, "examples/pmtr.conf"), "utf8"));
    expect(readFileSync(join(dest, "usr/share/bash-completion/completions/pmtr"), "utf8")).toBe(readFileSync(join(ROOT, "docs/completion/pmtr.bash"), "utf8"));
    for (const f of ["systemd/pmtr.service", "upstart/pmtr.conf", "sysvinit/pmtr"]) {
      expect(readFileSync(join(dest, "usr/share/pmtr", f), "utf8")).toBe(readFileSync(join(ROOT, f), "utf8"));
    }

    const removed = make("uninstall", `DESTDIR=${dest}`);
    expect(removed.code).toBe(0);
    expect(listing(dest)).toEqual([]);
    expect(() => statSync(join(dest, "usr/share/pmtr"))).toThrow();
    expect(() => statSync(join(dest, "usr/share/doc/pmtr"))).toThrow();
  });

  test("a stripped binary (plain bun, not pmtr) fails the install loudly", () => {
    const strip = Bun.which("strip");
    if (strip === null) throw new Error("strip is missing: install Debian's binutils (.ci/run installs it)");
    const dest = fresh();
    const stripped = join(dest, "stripped-pmtr");
    expect(Bun.spawnSync(["cp", PMTR, stripped]).exitCode).toBe(0);
    expect(Bun.spawnSync([strip, stripped]).exitCode).toBe(0);
    const installed = make("install", `DESTDIR=${join(dest, "root")}`, `INSTALL_BINARY=${stripped}`);
    expect(installed.code).not.toBe(0);
    expect(installed.out).toContain("the binary was stripped (plain bun) or is damaged; rebuild it with make and never strip it");
  });

  test("another PREFIX: the init files name the binary where it was installed", () => {
    const dest = fresh();
    expect(make("install", `DESTDIR=${dest}`, "PREFIX=/opt/pmtr").code).toBe(0);
    const share = join(dest, "opt/pmtr/share/pmtr");
    expect(readFileSync(join(share, "systemd/pmtr.service"), "utf8")).toContain("\nExecStart=/opt/pmtr/bin/pmtr -F -c /etc/pmtr.conf\n");
    expect(readFileSync(join(share, "upstart/pmtr.conf"), "utf8")).toContain("\nexec /opt/pmtr/bin/pmtr -F -c /etc/pmtr.conf\n");
    expect(readFileSync(join(share, "sysvinit/pmtr"), "utf8")).toContain("\nPMTR=${PMTR:-/opt/pmtr/bin/pmtr}\n");
    expect(make("uninstall", `DESTDIR=${dest}`, "PREFIX=/opt/pmtr").code).toBe(0);
    expect(listing(dest)).toEqual([]);
  });

  const verify = Bun.which("systemd-analyze") !== null;
  test(verify ? "systemd-analyze verify accepts the installed unit, its binary and man pages" : "systemd-analyze is absent (see init-scripts-units.test.ts)", () => {
    if (!verify) return;
    // Installed under a PREFIX inside the temp dir, so ExecStart names a binary that exists,
    // and MANPATH lets verify find the man pages Documentation= names.
    const prefix = join(fresh(), "usr");
    expect(make("install", `PREFIX=${prefix}`).code).toBe(0);
    const r = Bun.spawnSync(["systemd-analyze", "verify", join(prefix, "share/pmtr/systemd/pmtr.service")], {
      env: { ...process.env, MANPATH: join(prefix, "share/man"), SYSTEMD_LOG_LEVEL: "notice" }, stdout: "pipe", stderr: "pipe",
    });
    expect(r.stdout.toString() + r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });
});
