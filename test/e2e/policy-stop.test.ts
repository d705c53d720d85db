// SPEC §11 stop policy and SPEC §10 overrides end to end with the compiled binary: the job's
// own stop signal (followed by SIGCONT) and stop timeout, SIGKILL at each job's own timeout
// during shutdown, a `pmtr stop` that holds across an unrelated save, and no start after
// shutdown has begun (issue 12, fault 6).

import { afterAll, describe, expect, test } from "bun:test";
import { renameSync } from "node:fs";
import { isAlive, join, readOr, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";
import { MAX_STARTS_IN_FLIGHT } from "../../src/core/supervisor.ts";

/** Every test gets its own directory, removed when that test ends (tests run concurrently). */
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function newDir(): string {
  const dir = tempDir("pmtr-policy-stop-");
  dirs.push(dir);
  return dir;
}
const IGNORE_TERM = `/bin/sh -c "trap '' TERM; while :; do sleep 0.1; done"`;

/** Saves by rename, so pmtr only ever reads a whole file. */
function save(dir: string, text: string): void {
  const tmp = writeConfig(dir, text, "next.tmp");
  renameSync(tmp, join(dir, "pmtr.conf"));
}

describe("stop policy (SPEC §11)", () => {
  test.concurrent("stop signal QUIT: the job sees SIGQUIT", async () => {
    const dir = newDir();
    const sock = join(dir, "sock");
    const got = join(dir, "got");
    const conf = writeConfig(dir, `
job {
  name quitter
  cmd /bin/sh -c "trap 'echo QUIT > ${got}; exit 0' QUIT; trap 'echo TERM > ${got}; exit 0' TERM; while :; do sleep 0.05; done"
  stop signal QUIT
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(/: started job quitter \[\d+\]$/m);
      await runPmtr(["-s", sock, "stop", "quitter"]);
      await waitFor("the job to record its signal", () => readOr(got).trim());
      expect(readOr(got).trim()).toBe("QUIT");
      expect(p.stderr).toMatch(/: sending SIGQUIT to job quitter \[\d+\]$/m);
    });
  });

  test.concurrent("stop timeout 2s: SIGKILL 2 s after the stop signal, not 10 s", async () => {
    const dir = newDir();
    const sock = join(dir, "sock");
    const conf = writeConfig(dir, `
job {
  name stubborn
  cmd ${IGNORE_TERM}
  stop timeout 2s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(/: started job stubborn \[\d+\]$/m);
      const pid = startedPids(p.stderr, "stubborn")[0]!;
      const t0 = Date.now();
      void runPmtr(["-s", sock, "stop", "stubborn"], { timeoutMs: 20_000 });
      await p.waitLog(`: sending SIGKILL to job stubborn [${pid}]\n`, 9_000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
      await waitFor("the job to be gone", () => !isAlive(pid));
    });
  });

  test.concurrent("shutdown: each job gets SIGKILL at its own stop timeout; pmtr waits for the longest", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, `
job {
  name short
  cmd ${IGNORE_TERM}
  stop timeout 1s
}
job {
  name long
  cmd ${IGNORE_TERM}
  stop timeout 3s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "sock")], {}, async (p) => {
      await p.waitLog(/: started job short \[\d+\]$/m);
      await p.waitLog(/: started job long \[\d+\]$/m);
      const pids = [startedPids(p.stderr, "short")[0]!, startedPids(p.stderr, "long")[0]!];
      const t0 = Date.now();
      p.proc.kill("SIGTERM");
      expect(await p.proc.exited).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2_900);
      const log = p.stderr;
      const killShort = log.indexOf(`sending SIGKILL to job short [${pids[0]}]`);
      const killLong = log.indexOf(`sending SIGKILL to job long [${pids[1]}]`);
      expect(killShort).toBeGreaterThan(0);
      expect(killLong).toBeGreaterThan(killShort);
      for (const pid of pids) expect(isAlive(pid)).toBe(false);
    });
  });
});

describe("run-time overrides (SPEC §10)", () => {
  test.concurrent("pmtr stop holds across an unrelated save and ends when the job's own block changes", async () => {
    const dir = newDir();
    const sock = join(dir, "sock");
    const job = (name: string, extra = "") => `job {\n  name ${name}\n  cmd /bin/sleep 1000${extra}\n}\n`;
    const conf = writeConfig(dir, job("held") + job("other"));
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(/: started job held \[\d+\]$/m);
      await runPmtr(["-s", sock, "stop", "held"]);
      await waitFor("held to be stopped", () => !isAlive(startedPids(p.stderr, "held")[0]!));
      save(dir, job("held") + job("other") + job("added"));
      await p.waitLog(/: started job added \[\d+\]$/m);
      const { stdout } = await runPmtr(["-s", sock, "status", "--json", "held"]);
      expect(JSON.parse(stdout).jobs[0]).toMatchObject({ state: "stopped", enabled: false });
      expect(startedPids(p.stderr, "held").length).toBe(1);
      save(dir, job("held", " 2") + job("other") + job("added"));
      await waitFor("held to run again with its new definition", () => startedPids(p.stderr, "held").length === 2);
    });
  });
});

describe("shutdown starts nothing new (issue 12, fault 6)", () => {
  test.concurrent("SIGTERM during the start of 300 jobs: only starts already in flight complete, and are stopped", async () => {
    const dir = newDir();
    // Before the fix, starts that went through pmtr's exec helper (`nice 1`; ~10 ms each, a few
    // at a time) queued up, and SIGTERM during them was followed by hundreds more starts. The
    // spawner no longer queues (issue 11), and the core keeps at most MAX_STARTS_IN_FLIGHT
    // starts under way whatever the spawner does: either way, after `exiting on signal 15`
    // only those may still report their pid, and they are stopped.
    const jobs = Array.from({ length: 300 }, (_, i) => `job {\n  name j${i}\n  cmd /bin/sleep 1000\n  nice 1\n}\n`).join("");
    const conf = writeConfig(dir, jobs);
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "sock")], {}, async (p) => {
      await p.waitLog(/: started job j\d+ \[\d+\]$/m, 20_000);
      p.proc.kill("SIGTERM");
      expect(await p.proc.exited).toBe(0);
      const log = p.stderr;
      const exiting = log.indexOf("pmtr: exiting on signal 15");
      expect(exiting).toBeGreaterThan(0);
      const after = (log.slice(exiting).match(/: started job j\d+ \[\d+\]$/gm) ?? []).length;
      const all = (log.match(/: started job j\d+ \[\d+\]$/gm) ?? []).length;
      expect(after, `${all} started in all`).toBeLessThanOrEqual(MAX_STARTS_IN_FLIGHT);
      for (const m of log.matchAll(/: started job j\d+ \[(\d+)\]$/gm)) expect(isAlive(Number(m[1]))).toBe(false);
    });
  });
});
