// The shipped systemd unit, upstart job and Dockerfile, read as the init system or docker
// would: the settings the SPEC and the README promise, whatever tools this machine has.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const read = (f: string) => readFileSync(resolve(ROOT, f), "utf8");
/** The KEY=VALUE lines of one [section] of a unit file, comments dropped. */
function unitSection(text: string, name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = line.match(/^\[(.+)\]$/);
    if (header) { current = header[1]!; continue; }
    if (current !== name) continue;
    const eq = line.indexOf("=");
    expect(eq).toBeGreaterThan(0);
    const key = line.slice(0, eq);
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

describe("systemd/pmtr.service", () => {
  const unit = read("systemd/pmtr.service");
  test("runs pmtr in the foreground as Type=notify, reloads with SIGHUP", () => {
    const s = unitSection(unit, "Service");
    expect(s.get("Type")).toEqual(["notify"]);
    expect(s.get("ExecStart")).toEqual(["/usr/bin/pmtr -F -c /etc/pmtr.conf"]);
    expect(s.get("ExecReload")).toEqual(["/bin/kill -HUP $MAINPID"]);
    expect(s.get("KillMode")).toEqual(["mixed"]);
    expect(s.get("Restart")).toEqual(["on-failure"]);
  });

  test("TimeoutStopSec leaves pmtr its 10 s grace for jobs, and more", () => {
    const [value] = unitSection(unit, "Service").get("TimeoutStopSec")!;
    expect(Number(value)).toBeGreaterThan(10);
  });

  test("[Unit] and [Install]", () => {
    expect(unitSection(unit, "Unit").get("Documentation")).toEqual(["man:pmtr(8) man:pmtr.conf(5)"]);
    expect(unitSection(unit, "Install").get("WantedBy")).toEqual(["multi-user.target"]);
  });
});

describe("upstart/pmtr.conf", () => {
  const job = read("upstart/pmtr.conf").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  test("runlevels, respawn, exec in the foreground", () => {
    for (const line of ["start on runlevel [2345]", "stop on runlevel [016]", "respawn", "exec /usr/bin/pmtr -F -c /etc/pmtr.conf"]) {
      expect(job).toContain(line);
    }
  });
  test("kill timeout above pmtr's 10 s grace", () => {
    const timeout = job.find((l) => l.startsWith("kill timeout "));
    expect(Number(timeout?.split(" ")[2])).toBeGreaterThan(10);
  });
});

describe("examples/Dockerfile", () => {
  const lines = read("examples/Dockerfile").split("\n").filter((l) => !l.startsWith("#"));
  test("exec-form ENTRYPOINT, so pmtr is process 1 and gets docker stop's SIGTERM", () => {
    const entrypoints = lines.filter((l) => l.startsWith("ENTRYPOINT"));
    expect(entrypoints).toEqual(['ENTRYPOINT ["/usr/bin/pmtr","-F","-c","/etc/pmtr.conf"]']);
    expect(lines.some((l) => l.startsWith("CMD "))).toBe(false);
  });
  test("the configuration is checked at build time and installed where the entrypoint reads it", () => {
    expect(lines).toContain('RUN ["/usr/bin/pmtr", "-t", "-c", "/etc/pmtr.conf"]');
    expect(lines.some((l) => /^COPY .*examples\/pmtr\.conf \/etc\/pmtr\.conf$/.test(l))).toBe(true);
  });
});
