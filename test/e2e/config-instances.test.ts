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

/** A number P with ports P1 and P2 (P * 10 + 1, + 2) free on loopback a moment ago. */
function freePortPrefix(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const prefix = 2000 + Math.floor(Math.random() * 4500);
    try {
      for (const i of [1, 2]) Bun.listen({ hostname: "127.0.0.1", port: prefix * 10 + i, socket: { data() {} } }).stop(true);
      return prefix;
    } catch {
      // taken: try another
    }
  }
  throw new Error("no free pair of loopback ports P1, P2 found");
}

async function jobStatus(sock: string, name: string): Promise<Record<string, unknown>> {
  const out = await runPmtr(["-s", sock, "status", "--json", name]);
  const job = (JSON.parse(out.stdout) as { jobs: Record<string, unknown>[] }).jobs[0];
  if (!job) throw new Error(`no status for ${name}: ${out.stdout} ${out.stderr}`);
  return job;
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

  test("ready tcp 127.0.0.1:PREFIX%i: each instance probes its own port (SPEC §12, §15)", async () => {
    const dir = tempDir("pmtr-instances-");
    dirs.push(dir);
    const prefix = freePortPrefix();
    // The jobs only sleep: the test itself answers on instance 2's port, so web.2 can only be
    // ready if its probe names its own port, and web.1 only once the test listens on .1's.
    const listeners = [Bun.listen({ hostname: "127.0.0.1", port: Number(`${prefix}2`), socket: { data() {} } })];
    try {
      const path = writeConfig(dir, `job {\n  name web\n  cmd ${SLEEPER} ${TAG}-tcp-%i\n  ready tcp 127.0.0.1:${prefix}%i within 120s\n  instances 2\n}\n`);
      const sock = join(dir, "pmtr.sock");
      await withPmtr(["-F", "-c", path, "-s", sock], {}, async (p) => {
        await p.waitLog(/job web\.2 \[\d+\] is ready/, 20_000);
        const one = await jobStatus(sock, "web.1");
        expect(one.state).toBe("starting");
        expect(String(one.reason)).toContain(`tcp 127.0.0.1:${prefix}1`);
        listeners.push(Bun.listen({ hostname: "127.0.0.1", port: Number(`${prefix}1`), socket: { data() {} } }));
        await p.waitLog(/job web\.1 \[\d+\] is ready/, 20_000);
      });
    } finally {
      for (const l of listeners) l.stop(true);
    }
  }, 60_000);

  test("ready file DIR/up.%i: each instance waits for its own file", async () => {
    const dir = tempDir("pmtr-instances-");
    dirs.push(dir);
    const path = writeConfig(dir, `job {\n  name web\n  instances 2\n  cmd ${SLEEPER} ${TAG}-file-%i\n  ready file ${dir}/up.%i within 120s\n}\n`);
    const sock = join(dir, "pmtr.sock");
    await withPmtr(["-F", "-c", path, "-s", sock], {}, async (p) => {
      await jobRunning(p, "web.1", `${TAG}-file-1`, [], 20_000);
      await jobRunning(p, "web.2", `${TAG}-file-2`, [], 20_000);
      writeFileSync(join(dir, "up.2"), "");
      await p.waitLog(/job web\.2 \[\d+\] is ready/, 20_000);
      const one = await jobStatus(sock, "web.1");
      expect(one.state).toBe("starting");
      expect(String(one.reason)).toContain(`${dir}/up.1`);
      writeFileSync(join(dir, "up.1"), "");
      await p.waitLog(/job web\.1 \[\d+\] is ready/, 20_000);
    });
  }, 60_000);

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
