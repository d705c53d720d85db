// `instances N` end to end (SPEC §15): NAME.1..NAME.N run with %i substituted; changing N
// 3 -> 5 -> 2 starts or stops only the instances added or removed.

import { afterEach, describe, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { FIXTURES, isAlive, join, jobRunning, pidsWithArg, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const TAG = `instances-${process.pid}-${Date.now().toString(36)}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const conf = (n: number) => `job {\n  name web\n  cmd ${SLEEPER} ${TAG}-%i port-80%i 100%%\n  instances ${n}\n}\n`;

function save(path: string, text: string): void {
  const tmp = join(dirname(path), ".next.tmp");
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

describe("instances", () => {
  test("3 -> 5 -> 2: only the added or removed instances are started or stopped", async () => {
    const dir = tempDir("pmtr-instances-");
    dirs.push(dir);
    const path = writeConfig(dir, conf(3));
    await withPmtr(["-F", "-c", path, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      const pids = new Map<number, number>();
      for (const i of [1, 2, 3]) pids.set(i, await jobRunning(p, `web.${i}`, `${TAG}-${i}`, [`port-80${i}`, "100%"]));

      save(path, conf(5));
      for (const i of [4, 5]) pids.set(i, await jobRunning(p, `web.${i}`, `${TAG}-${i}`, [`port-80${i}`]));
      for (const i of [1, 2, 3]) expect(startedPids(p.stderr, `web.${i}`)).toEqual([pids.get(i)!]);

      save(path, conf(2));
      await waitFor("web.3..5 stopped", () => [3, 4, 5].every((i) => pidsWithArg(`${TAG}-${i}`).length === 0 && !isAlive(pids.get(i)!)), 15_000);
      for (const i of [1, 2]) {
        expect(startedPids(p.stderr, `web.${i}`)).toEqual([pids.get(i)!]);
        expect(isAlive(pids.get(i)!)).toBe(true);
      }
    });
  });

  test("control: pmtr restart web acts on every instance, web.2 on one; status web shows them all", async () => {
    const dir = tempDir("pmtr-instances-");
    dirs.push(dir);
    const path = writeConfig(dir, conf(3));
    const sock = join(dir, "pmtr.sock");
    await withPmtr(["-F", "-c", path, "-s", sock], {}, async (p) => {
      const first = new Map<number, number>();
      for (const i of [1, 2, 3]) first.set(i, await jobRunning(p, `web.${i}`, `${TAG}-${i}`));

      const one = await runPmtr(["-s", sock, "restart", "web.2"], { timeoutMs: 30_000 });
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^web\.2: restarted \[\d+\]\n$/);
      expect(startedPids(p.stderr, "web.1")).toEqual([first.get(1)!]);
      expect(startedPids(p.stderr, "web.3")).toEqual([first.get(3)!]);

      const all = await runPmtr(["-s", sock, "restart", "web"], { timeoutMs: 30_000 });
      expect(all.code).toBe(0);
      expect(all.stdout.trimEnd().split("\n").map((l) => l.split(":")[0])).toEqual(["web.1", "web.2", "web.3"]);
      for (const i of [1, 2, 3]) expect(startedPids(p.stderr, `web.${i}`).length).toBe(i === 2 ? 3 : 2);

      const status = await runPmtr(["-s", sock, "status", "--json", "web"]);
      expect(status.code).toBe(0);
      expect((JSON.parse(status.stdout) as { jobs: { name: string }[] }).jobs.map((j) => j.name)).toEqual(["web.1", "web.2", "web.3"]);
    });
  });
});
