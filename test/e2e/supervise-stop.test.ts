// SPEC §5 end to end: stopping a job is SIGTERM to its process group, then SIGKILL to the group
// if anything in it is still alive 10 s later; at shutdown pmtr stops every job concurrently,
// waits for all of them, removes its pidfile and exits 0. A job's grandchildren go with it.

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { groupAlive, isAlive, join, readOr, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir("pmtr-sv-stop-");
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pid a job wrote into `file`, once it is there. */
const pidIn = (file: string) => waitFor(`a pid in ${file}`, () => Number(readOr(file).trim()) || null);

describe("stopping (SPEC §5)", () => {
  test.concurrent("shutdown: jobs that ignore SIGTERM get SIGKILL 10 s later, all concurrently; a cooperative one is not killed; exit 0", () =>
    inTempDir(async (dir) => {
      const pidfile = join(dir, "pmtr.pid");
      const conf = writeConfig(dir, `
job {
  name ignore1
  cmd /bin/sh -c "trap '' TERM; while :; do sleep 0.1; done"
}
job {
  name ignore2
  cmd /bin/sh -c "trap '' TERM; while :; do sleep 0.1; done"
}
job {
  name orphaned
  cmd /bin/sh -c "(trap '' TERM; exec sleep 1000) & echo $! > ${dir}/orphaned.gc; wait"
}
job {
  name graceful
  cmd /bin/sh -c "trap 'sleep 0.3; echo clean > ${dir}/graceful.done; exit 0' TERM; while :; do sleep 0.05; done"
}
`);
      await withPmtr(["-F", "-c", conf, "-p", pidfile, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        const names = ["ignore1", "ignore2", "orphaned", "graceful"];
        for (const n of names) await p.waitLog(new RegExp(`: started job ${n} \\[\\d+\\]$`, "m"));
        const pids = Object.fromEntries(names.map((n) => [n, startedPids(p.stderr, n)[0]!]));
        const grandchild = await pidIn(join(dir, "orphaned.gc"));
        expect(readOr(pidfile).trim()).toBe(String(p.pid));

        const t0 = Date.now();
        process.kill(p.pid, "SIGTERM");
        const code = await p.proc.exited;
        const seconds = (Date.now() - t0) / 1000;
        expect(code).toBe(0);
        // The grace period was honoured, and the three stubborn jobs shared it (not 3 x 10 s).
        expect(seconds).toBeGreaterThanOrEqual(9.5);
        expect(seconds).toBeLessThan(12);

        const log = p.stderr;
        expect(log).toMatch(/: pmtr: exiting on signal 15$/m);
        for (const n of names) expect(log).toMatch(new RegExp(`: sending SIGTERM to job ${n} \\[${pids[n]}\\]$`, "m"));
        // orphaned's leader dies of SIGTERM, its grandchild ignores it: the group still needs SIGKILL.
        for (const n of ["ignore1", "ignore2"]) expect(log).toMatch(new RegExp(`: sending SIGKILL to job ${n} \\[${pids[n]}\\]$`, "m"));
        expect(log).toMatch(new RegExp(`: sending SIGKILL to .*job orphaned \\[${pids.orphaned}\\]`, "m"));
        expect(log).not.toMatch(/: sending SIGKILL to job graceful /);
        expect(readOr(join(dir, "graceful.done"))).toBe("clean\n");
        for (const n of names) expect(groupAlive(pids[n]!)).toBe(false);
        expect(isAlive(grandchild)).toBe(false);
        expect(existsSync(pidfile)).toBe(false);
      });
    }), 30_000);

  test.concurrent("a stopped job's grandchild is gone with it (control socket stop, then shutdown)", () =>
    inTempDir(async (dir) => {
      const sock = join(dir, "pmtr.sock");
      const conf = writeConfig(dir, `
job {
  name parent1
  cmd /bin/sh -c "sleep 1000 & echo $! > ${dir}/gc1; wait"
}
job {
  name parent2
  cmd /bin/sh -c "sleep 1000 & echo $! > ${dir}/gc2; wait"
}
`);
      await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
        await p.waitLog(/: started job parent1 \[\d+\]$/m);
        const gc1 = await pidIn(join(dir, "gc1"));
        const gc2 = await pidIn(join(dir, "gc2"));
        const [job1] = startedPids(p.stderr, "parent1");
        expect(readFileSync(`/proc/${gc1}/cmdline`, "utf8")).toBe("sleep\x001000\x00");

        const stop = await runPmtr(["-s", sock, "stop", "parent1"], { timeoutMs: 15_000 });
        expect(stop.code).toBe(0);
        await waitFor(`grandchild ${gc1} of parent1 to be gone`, () => !isAlive(gc1));
        expect(groupAlive(job1!)).toBe(false);
        expect(p.stderr).toMatch(new RegExp(`: sending SIGTERM to job parent1 \\[${job1}\\]$`, "m"));
        expect(isAlive(gc2)).toBe(true);

        expect(await p.stop()).toBe(0);
        expect(isAlive(gc2)).toBe(false);
      });
    }));

  for (const [signal, number] of [["SIGINT", 2], ["SIGQUIT", 3]] as const) {
    test.concurrent(`${signal} stops every job, removes the pidfile and exits 0`, () =>
      inTempDir(async (dir) => {
        const pidfile = join(dir, "pmtr.pid");
        const conf = writeConfig(dir, `
job {
  name sleeper
  cmd /bin/sleep 600
}
`);
        await withPmtr(["-F", "-c", conf, "-p", pidfile, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
          await p.waitLog(/: started job sleeper \[\d+\]$/m);
          const [job] = startedPids(p.stderr, "sleeper");
          await waitFor("the pidfile", () => readOr(pidfile).trim() === String(p.pid));
          process.kill(p.pid, signal);
          expect(await p.proc.exited).toBe(0);
          expect(p.stderr).toMatch(new RegExp(`: pmtr: exiting on signal ${number}$`, "m"));
          expect(p.stderr).toMatch(new RegExp(`: sending SIGTERM to job sleeper \\[${job}\\]$`, "m"));
          expect(groupAlive(job!)).toBe(false);
          expect(existsSync(pidfile)).toBe(false);
        });
      }));
  }
});
