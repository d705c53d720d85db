import { expect, test } from "bun:test";
import { makeJob } from "../../../src/config/defaults.ts";
import type { JobSpec } from "../../../src/config/model.ts";
import type { ExitStatus, StartOutcome } from "../../../src/core/ports.ts";
import { HOOK_LIMIT_MS, HookRunner, hookEnvironment, type HookEvent } from "../../../src/os/spawn/hooks.ts";

/** A fake spawner and clock: each start gets pid 100, 101, ...; exits and time are driven by the test. */
function world(startResult: (spec: JobSpec) => StartOutcome | null = () => null) {
  let nowMs = 0;
  let nextPid = 100;
  const timers: Array<{ at: number; action: () => void; live: boolean }> = [];
  const starts: Array<{ spec: JobSpec; pid: number; exit: (s: ExitStatus) => void }> = [];
  const killed: number[] = [];
  const logs: string[] = [];
  const runner = new HookRunner({
    start: async (spec, onExit) => {
      const fixed = startResult(spec);
      if (fixed !== null) return fixed;
      const pid = nextPid++;
      starts.push({ spec, pid, exit: onExit });
      return { ok: true, pid };
    },
    killGroup: (pgid) => killed.push(pgid),
    setTimer: (action, ms) => {
      const t = { at: nowMs + ms, action, live: true };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => {
      if (t) (t as { live: boolean }).live = false;
    },
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  return {
    runner, starts, killed, logs,
    advance(ms: number) {
      nowMs += ms;
      for (const t of timers) if (t.live && t.at <= nowMs) {
        t.live = false;
        t.action();
      }
    },
  };
}

const flush = () => new Promise<void>((r) => setImmediate(r));
const web = makeJob({ name: "web", argv: ["/srv/web"], user: "nobody", dir: "/srv", env: ["A=1"], envFiles: ["/etc/default/web"], hooks: { onExit: ["/usr/local/bin/alert", "--exit"], onFail: ["/usr/local/bin/page-me"] } });
const exit = (code: number, over: Partial<HookEvent> = {}): HookEvent => ({ kind: "exit", name: "web", status: { kind: "exited", code }, ranMs: 1234.4, restarts: 2, ...over });

test("the hook runs as the job's user, in its dir, with its env and the PMTR_ variables, output to the log", async () => {
  const w = world();
  w.runner.dispatch(exit(3), web);
  await flush();
  expect(w.starts.length).toBe(1);
  const spec = w.starts[0]!.spec;
  expect(spec.argv).toEqual(["/usr/local/bin/alert", "--exit"]);
  expect(spec.user).toBe("nobody");
  expect(spec.dir).toBe("/srv");
  expect(spec.envFiles).toEqual(["/etc/default/web"]);
  expect(spec.name).toBe("web.on-exit");
  expect([spec.out, spec.err]).toEqual(["syslog", "syslog"]);
  expect(spec.env).toEqual(["A=1", "PMTR_JOB=web", "PMTR_EVENT=exit", "PMTR_EXIT_CODE=3", "PMTR_RESTARTS=2", "PMTR_RAN_MS=1234", "PMTR_COALESCED=0"]);
  expect(w.logs).toContain("info: running on exit hook of job web [100]");
  w.starts[0]!.exit({ kind: "exited", code: 0 });
  expect(w.logs).toContain("info: on exit hook of job web [100] ended: exit status 0");
  expect(w.runner.runningCount()).toBe(0);
});

test("a death by signal gives PMTR_EXIT_SIGNAL instead; a give-up after failed starts gives neither", () => {
  expect(hookEnvironment({ kind: "exit", name: "a", status: { kind: "signaled", signal: "SIGKILL" }, ranMs: 5, restarts: 0 }, 0))
    .toEqual(["PMTR_JOB=a", "PMTR_EVENT=exit", "PMTR_EXIT_SIGNAL=SIGKILL", "PMTR_RESTARTS=0", "PMTR_RAN_MS=5", "PMTR_COALESCED=0"]);
  expect(hookEnvironment({ kind: "fail", name: "a", status: null, ranMs: 0, restarts: 4 }, 0))
    .toEqual(["PMTR_JOB=a", "PMTR_EVENT=fail", "PMTR_RESTARTS=4", "PMTR_RAN_MS=0", "PMTR_COALESCED=0"]);
});

test("one hook at a time per job: events meanwhile wait one per kind, the latest counted as coalesced", async () => {
  const w = world();
  w.runner.dispatch(exit(1), web);
  await flush();
  w.runner.dispatch(exit(2), web);
  w.runner.dispatch(exit(3), web);
  w.runner.dispatch({ ...exit(4), kind: "fail" }, web);
  w.runner.dispatch(exit(5), web);
  await flush();
  expect(w.starts.length).toBe(1);
  w.starts[0]!.exit({ kind: "exited", code: 0 });
  await flush();
  expect(w.starts.length).toBe(2);
  // The exit queued first runs first, as the latest of the three exits, counting the two it replaced.
  expect(w.starts[1]!.spec.env).toContain("PMTR_EXIT_CODE=5");
  expect(w.starts[1]!.spec.env).toContain("PMTR_COALESCED=2");
  expect(w.logs).toContain("info: running on exit hook of job web [101] (2 earlier events coalesced into this one)");
  w.starts[1]!.exit({ kind: "exited", code: 0 });
  await flush();
  expect(w.starts[2]!.spec.argv).toEqual(["/usr/local/bin/page-me"]);
  expect(w.starts[2]!.spec.env).toContain("PMTR_EVENT=fail");
  w.starts[2]!.exit({ kind: "exited", code: 0 });
  await flush();
  expect(w.starts.length).toBe(3);
  expect(w.runner.runningCount()).toBe(0);
});

test("other jobs' hooks are not held up", async () => {
  const w = world();
  const db = makeJob({ name: "db", argv: ["/srv/db"], hooks: { onExit: ["/bin/true"], onFail: null } });
  w.runner.dispatch(exit(1), web);
  w.runner.dispatch({ ...exit(1), name: "db" }, db);
  await flush();
  expect(w.starts.map((s) => s.spec.name)).toEqual(["web.on-exit", "db.on-exit"]);
});

test(`a hook still running after ${HOOK_LIMIT_MS / 1000} s is killed with its group, and the next one runs`, async () => {
  const w = world();
  w.runner.dispatch(exit(1), web);
  await flush();
  w.runner.dispatch(exit(2), web);
  w.advance(HOOK_LIMIT_MS - 1);
  expect(w.killed).toEqual([]);
  w.advance(1);
  expect(w.killed).toEqual([100]);
  expect(w.logs).toContain("warning: on exit hook of job web [100] still running after 30 sec, sending SIGKILL to its process group");
  w.starts[0]!.exit({ kind: "signaled", signal: "SIGKILL" });
  expect(w.logs).toContain("warning: on exit hook of job web [100] ended: killed by SIGKILL");
  await flush();
  expect(w.starts.length).toBe(2);
  // A hook that ends in time is not killed.
  w.starts[1]!.exit({ kind: "exited", code: 0 });
  w.advance(HOOK_LIMIT_MS * 2);
  expect(w.killed).toEqual([100]);
});

test("a hook that cannot start is logged and the next event still runs", async () => {
  let fail = true;
  const w = world(() => (fail ? { ok: false, step: "user", error: "no such user: nobody" } : null));
  w.runner.dispatch(exit(1), web);
  await flush();
  expect(w.logs).toContain("err: cannot run on exit hook of job web: user: no such user: nobody (the job is not affected)");
  expect(w.runner.runningCount()).toBe(0);
  fail = false;
  w.runner.dispatch(exit(1), web);
  await flush();
  expect(w.starts.length).toBe(1);
});

test("a job without the hook for that event runs nothing; after close nothing starts and running hooks are stopped", async () => {
  const w = world();
  const plain = makeJob({ name: "web", argv: ["/srv/web"], hooks: { onExit: null, onFail: ["/bin/true"] } });
  w.runner.dispatch(exit(1), plain);
  await flush();
  expect(w.starts.length).toBe(0);
  w.runner.dispatch(exit(1), web);
  await flush();
  w.runner.close();
  expect(w.killed).toEqual([100]);
  w.runner.dispatch(exit(1), web);
  await flush();
  expect(w.starts.length).toBe(1);
});
