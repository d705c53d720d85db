// SPEC §11 restart policy end to end with the compiled binary: backoff doubling (gaps measured
// with generous tolerances), give up after N in T (state failed, logged once with the fix,
// `pmtr start` retries), restart on-failure, and a run's leftovers stopped before the next run
// (issue 12, fault 5).

import { afterAll, describe, expect, test } from "bun:test";
import { join, readOr, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

/** Every test gets its own directory, removed when that test ends (tests run concurrently). */
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function newDir(): string {
  const dir = tempDir("pmtr-policy-restart-");
  dirs.push(dir);
  return dir;
}

async function status(sock: string, name: string): Promise<{ state: string; reason: string; restarts: number }> {
  const { stdout } = await runPmtr(["-s", sock, "status", "--json", name]);
  return JSON.parse(stdout).jobs[0];
}

describe("restart policy (SPEC §11)", () => {
  test.concurrent("backoff 1s..4s: quick exits are restarted after 1, 2, 4, 4 s (±10 % jitter), said in the log", async () => {
    const dir = newDir();
    const times = join(dir, "times");
    const conf = writeConfig(dir, `
job {
  name quick
  cmd /bin/sh -c "date +%s%N >> ${times}; exit 1"
  backoff 1s..4s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "sock")], {}, async (p) => {
      await waitFor("5 runs", () => readOr(times).trim().split("\n").length >= 5, 30_000);
      const starts = readOr(times).trim().split("\n").slice(0, 5).map((ns) => Number(BigInt(ns) / 1_000_000n));
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      const expected = [1_000, 2_000, 4_000, 4_000];
      gaps.forEach((gap, i) => {
        // At least the delay minus its jitter; at most the delay plus jitter plus a generous
        // allowance for a loaded machine (the run itself, the log, the spawn).
        expect(gap, `gaps ${gaps.join(", ")} ms`).toBeGreaterThanOrEqual(expected[i]! * 0.9 - 50);
        expect(gap, `gaps ${gaps.join(", ")} ms`).toBeLessThan(expected[i]! * 1.1 + 2_000);
      });
      expect(p.stderr).toMatch(/: job quick restarting too fast, delaying restart \((0\.9|1|1\.1) s, attempt 1\)$/m);
      expect(p.stderr).toMatch(/: job quick restarting too fast, delaying restart \(\d(\.\d)? s, attempt 3\)$/m);
    });
  });

  test.concurrent("give up after 3 in 60s: failed after the third quick exit, logged once with the fix; pmtr start retries", async () => {
    const dir = newDir();
    const sock = join(dir, "sock");
    const conf = writeConfig(dir, `
job {
  name flaky
  cmd /bin/sh -c "exit 3"
  backoff 100ms..100ms
  give up after 3 in 60s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(": job flaky gave up: 3 exits in 60 s; pmtr start flaky to retry\n", 10_000);
      expect((await status(sock, "flaky")).state).toBe("failed");
      expect(startedPids(p.stderr, "flaky").length).toBe(3);
      await runPmtr(["-s", sock, "start", "flaky"]);
      await waitFor("a fourth run", () => startedPids(p.stderr, "flaky").length >= 4, 10_000);
      await waitFor("giving up again", () => p.count(/gave up/) === 2, 10_000);
      expect(startedPids(p.stderr, "flaky").length).toBe(6);
    });
  });

  test.concurrent("restart on-failure: exit 0 is done; a non-zero exit restarts", async () => {
    const dir = newDir();
    const sock = join(dir, "sock");
    const conf = writeConfig(dir, `
job {
  name ok
  cmd /bin/sh -c "exit 0"
  restart on-failure
}
job {
  name bad
  cmd /bin/sh -c "exit 1"
  restart on-failure
  backoff 100ms..100ms
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await waitFor("bad to run 3 times", () => startedPids(p.stderr, "bad").length >= 3, 10_000);
      expect(p.stderr).toContain(": job ok exited with status 0, will not be restarted (restart on-failure)\n");
      expect(startedPids(p.stderr, "ok").length).toBe(1);
      expect((await status(sock, "ok")).state).toBe("done");
    });
  });

  test.concurrent("a run's leftovers are stopped, and the next run starts only once its group is empty (issue 12, fault 5)", async () => {
    const dir = newDir();
    const gc = join(dir, "gc");
    const overlap = join(dir, "overlap");
    // Each run first checks whether the previous run's TERM-ignoring child is still alive. A run
    // of 10.5 s is restarted at once (it ran longer than the default `stable` 10 s), so before
    // the fix the second run started beside the first one's child.
    const conf = writeConfig(dir, `
job {
  name leaver
  cmd /bin/sh -c "if [ -f ${gc} ] && kill -0 $(cat ${gc}) 2>/dev/null; then echo overlap >> ${overlap}; fi; (trap '' TERM; exec sleep 1000) & echo $! > ${gc}; sleep 10.5"
  stop timeout 1s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "sock")], {}, async (p) => {
      const first = await waitFor("the first run's child", () => readOr(gc).trim());
      // The second run writes its own child's pid only after it has looked for the first one's.
      await waitFor("the second run's child", () => readOr(gc).trim() !== first && readOr(gc).trim(), 30_000);
      expect(readOr(overlap, "none")).toBe("none");
      expect(p.stderr).toMatch(/: sending SIGTERM to the processes job leaver \[\d+\] left in its process group$/m);
      expect(p.stderr).toMatch(/: sending SIGKILL to the processes job leaver \[\d+\] left in its process group$/m);
    });
  });
});
