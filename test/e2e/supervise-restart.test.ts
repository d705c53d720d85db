// SPEC §4 end to end: when dist/pmtr restarts a job, and when it does not. Jobs record their
// own start times (date +%s.%N), so intervals are measured by the jobs, not by log polling.
// The 10 s rules cost real time here (one quick-exit test); the tests run concurrently.

import { describe, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { fileLines, isAlive, join, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

/** A cmd that appends its start time to FILE, then runs `rest` (shell text without double quotes). */
const stamping = (file: string, rest: string) => `/bin/sh -c "date +%s.%N >> ${file}; ${rest}"`;
const times = (file: string) => fileLines(file).map(Number);

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir("pmtr-sv-restart-");
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("restart rules (SPEC §4)", () => {
  test.concurrent("a job that ran < 10 s is restarted 10 s after its exit, logged; exit 33 and `once` stay down", () =>
    inTempDir(async (dir) => {
      const quick = join(dir, "quick");
      const conf = writeConfig(dir, `
job {
  name quick
  cmd ${stamping(quick, "sleep 0.5; exit 1")}
}
job {
  name stop33
  cmd ${stamping(join(dir, "stop33"), "exit 33")}
}
job {
  name oneshot
  cmd ${stamping(join(dir, "oneshot"), "exit 0")}
  once
}
job {
  name selfkill
  cmd /bin/sh -c "kill -TERM $$"
  once
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        await p.waitLog(/: job quick restarting too fast, delaying restart$/m);
        const [first] = startedPids(p.stderr, "quick");
        const exitAt = p.stderr.search(new RegExp(`: job quick \\[${first}\\] exited after \\d+ sec: exit status 1$`, "m"));
        expect(exitAt).toBeGreaterThan(0);
        expect(p.stderr.indexOf(": job quick restarting too fast, delaying restart")).toBeGreaterThan(exitAt);
        await p.waitLog(/: job stop33 exited with status 33, will not be restarted$/m);
        await p.waitLog(/: job oneshot ran once, will not be restarted$/m);
        expect(p.stderr).toMatch(/: job stop33 \[\d+\] exited after 0 sec: exit status 33$/m);
        expect(p.stderr).toMatch(/: job selfkill \[\d+\] exited after 0 sec: killed by SIGTERM$/m);

        await waitFor("quick to be restarted", () => times(quick).length >= 2, 15_000);
        const [t1, t2] = times(quick);
        // It ran 0.5 s, then waited 10 s from its exit.
        expect(t2! - t1!).toBeGreaterThanOrEqual(10.4);
        expect(t2! - t1!).toBeLessThan(12);
        const [, second] = startedPids(p.stderr, "quick");
        expect(second).toBeGreaterThan(0);
        expect(second).not.toBe(first);
        // stop33 and oneshot exited 0.5 s before quick did: a restart of theirs would be due by now.
        expect(times(join(dir, "stop33"))).toHaveLength(1);
        expect(times(join(dir, "oneshot"))).toHaveLength(1);
        expect(startedPids(p.stderr, "stop33")).toHaveLength(1);
        expect(startedPids(p.stderr, "oneshot")).toHaveLength(1);
        expect(startedPids(p.stderr, "selfkill")).toHaveLength(1);
      });
    }), 30_000);

  test.concurrent("a job that ran >= 10 s is restarted at once, without the delay line", () =>
    inTempDir(async (dir) => {
      const steady = join(dir, "steady");
      const conf = writeConfig(dir, `
job {
  name steady
  cmd ${stamping(steady, "sleep 10.3; exit 1")}
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        await waitFor("steady to be restarted", () => times(steady).length >= 2, 15_000);
        const [t1, t2] = times(steady);
        expect(t2! - t1!).toBeGreaterThanOrEqual(10.3);
        expect(t2! - t1!).toBeLessThan(11.3);
        expect(p.stderr).toMatch(/: job steady \[\d+\] exited after 10 sec: exit status 1$/m);
        expect(p.stderr).not.toMatch(/: job steady restarting too fast/);
      });
    }), 30_000);

  test.concurrent("order: lower starts first, equal orders in file order", () =>
    inTempDir(async (dir) => {
      const conf = writeConfig(dir, `
job {
  name a
  cmd /bin/sleep 600
  order 2
}
job {
  name b
  cmd /bin/sleep 600
  order 1
}
job {
  name c
  cmd /bin/sleep 600
}
job {
  name d
  cmd /bin/sleep 600
  order 1
}
job {
  name e
  cmd /bin/sleep 600
  order -1
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        await p.waitLog(/: started job a \[\d+\]$/m);
        const order = Array.from(p.stderr.matchAll(/: started job (\S+) \[\d+\]$/gm), (m) => m[1]);
        expect(order).toEqual(["e", "c", "b", "d", "a"]);
        expect(p.stderr).toMatch(/: pmtr: managing 5 jobs$/m);
      });
    }));

  test.concurrent("wait: later jobs start only after it exits, while signals, the socket and other jobs are served", () =>
    inTempDir(async (dir) => {
      const sock = join(dir, "pmtr.sock");
      const go = join(dir, "go");
      const conf = writeConfig(dir, `
job {
  name early
  cmd /bin/sleep 600
}
job {
  name gate
  cmd /bin/sh -c "until [ -e ${go} ]; do sleep 0.02; done"
  wait
}
job {
  name later
  cmd /bin/sleep 600
}
`);
      await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
        await p.waitLog(/: started job gate \[\d+\]$/m);
        const [early] = startedPids(p.stderr, "early");
        expect(early).toBeGreaterThan(0);
        // A signal is served: SIGHUP rescans.
        process.kill(p.pid, "SIGHUP");
        await p.waitLog(/: rescanning job configuration$/m);
        // Another job's exit is handled.
        process.kill(early!, "SIGKILL");
        await p.waitLog(new RegExp(`: job early \\[${early}\\] exited after \\d+ sec: killed by SIGKILL$`, "m"));
        await p.waitLog(/: job early restarting too fast, delaying restart$/m);
        // The control socket answers.
        const status = await runPmtr(["-s", sock, "status", "--json"], { timeoutMs: 5000 });
        const states = Object.fromEntries(JSON.parse(status.stdout).jobs.map((j: { name: string; state: string }) => [j.name, j.state]));
        expect(states.gate).toBe("running");
        expect(states.later).not.toBe("running");
        // All that happened while gate ran; later has not started.
        expect(startedPids(p.stderr, "later")).toEqual([]);

        writeFileSync(go, "");
        await p.waitLog(/: started job later \[\d+\]$/m);
        const log = p.stderr;
        expect(log.indexOf(": started job later")).toBeGreaterThan(log.search(/: job gate \[\d+\] exited after \d+ sec: exit status 0$/m));
        // Without `once`, a wait job is then supervised like any other.
        await p.waitLog(/: job gate restarting too fast, delaying restart$/m);
      });
    }), 20_000);

  test.concurrent("bounce every 2s: stopped and started again every 2 s, at once, logged", () =>
    inTempDir(async (dir) => {
      const starts = join(dir, "starts");
      const conf = writeConfig(dir, `
job {
  name bouncy
  cmd ${stamping(starts, "exec sleep 600")}
  bounce every 2s
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        await waitFor("three starts", () => times(starts).length >= 3, 10_000);
        const [t1, t2, t3] = times(starts);
        for (const gap of [t2! - t1!, t3! - t2!]) {
          expect(gap).toBeGreaterThanOrEqual(1);
          expect(gap).toBeLessThanOrEqual(3);
        }
        const pids = startedPids(p.stderr, "bouncy");
        expect(p.stderr).toMatch(new RegExp(`: bouncing job bouncy \\[${pids[0]}\\] after 2 sec$`, "m"));
        expect(p.stderr).toMatch(new RegExp(`: sending SIGTERM to job bouncy \\[${pids[0]}\\]$`, "m"));
        expect(p.stderr).not.toMatch(/restarting too fast/);
        expect(isAlive(pids[0]!)).toBe(false);
      });
    }), 15_000);

  test.concurrent("depends: a content change restarts the job at once (a rewrite with the same content does not); saving by rename too", () =>
    inTempDir(async (dir) => {
      const dep = join(dir, "dep.conf");
      const other = join(dir, "other.conf");
      writeFileSync(dep, "v1\n");
      writeFileSync(other, "w1\n");
      const conf = writeConfig(dir, `
job {
  name dependent
  cmd /bin/sleep 600
  depends {
    ${dep}
  }
}
job {
  name witness
  cmd /bin/sleep 600
  depends {
    ${other}
  }
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        await p.waitLog(/: started job dependent \[\d+\]$/m);
        await p.waitLog(/: started job witness \[\d+\]$/m);
        const [first] = startedPids(p.stderr, "dependent");
        const changed = new RegExp(`: ${dep} changed, restarting job dependent$`);

        // The same content written again, then a real change of another job's file: once that
        // one is acted on, the earlier write has been seen too, and must have changed nothing.
        writeFileSync(dep, "v1\n");
        writeFileSync(other, "w2\n");
        await p.waitLog(new RegExp(`: ${other} changed, restarting job witness$`, "m"));
        await waitFor(`witness restarted\n${p.stderr}`, () => startedPids(p.stderr, "witness").length === 2);
        expect(p.count(changed)).toBe(0);
        expect(startedPids(p.stderr, "dependent")).toEqual([first!]);

        writeFileSync(dep, "v2\n");
        // At once: a 10 s anti-spin delay would miss this deadline.
        await waitFor(`a second start\n${p.stderr}`, () => startedPids(p.stderr, "dependent").length === 2, 5000);
        expect(p.count(changed)).toBe(1);
        expect(p.stderr).toMatch(new RegExp(`: sending SIGTERM to job dependent \\[${first}\\]$`, "m"));
        expect(isAlive(first!)).toBe(false);
        expect(p.stderr).not.toMatch(/: job dependent restarting too fast/);

        // Saved the way editors do: a new file renamed over the old one.
        writeFileSync(`${dep}.tmp`, "v3\n");
        renameSync(`${dep}.tmp`, dep);
        await waitFor(`a third start\n${p.stderr}`, () => startedPids(p.stderr, "dependent").length === 3, 5000);
        expect(p.count(changed)).toBe(2);
        expect(startedPids(p.stderr, "witness")).toHaveLength(2);
      });
    }));

  test.concurrent("depends: a missing file keeps the job down (logged); creating it starts the job", () =>
    inTempDir(async (dir) => {
      const dep = join(dir, "later-file");
      const conf = writeConfig(dir, `
job {
  name needy
  cmd /bin/sleep 600
  depends {
    ${dep}
  }
}
job {
  name other
  cmd /bin/sleep 600
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        await p.waitLog(`: job needy is waiting for ${dep}, which does not exist\n`);
        await p.waitLog(/: started job other \[\d+\]$/m);
        expect(startedPids(p.stderr, "needy")).toEqual([]);
        writeFileSync(dep, "now here\n");
        await p.waitLog(/: started job needy \[\d+\]$/m);
        expect(isAlive(startedPids(p.stderr, "needy")[0]!)).toBe(true);
        expect(p.count(/: job needy is waiting for/)).toBe(1);
      });
    }));
});
