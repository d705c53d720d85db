// The state table walked pair by pair: for every run state and every event, the state the job
// moves to (">then" for what a stop or a start in flight leads to) and the kinds of effects, on
// a manual clock. An impossible or stale pair shows as the state itself with no effects. A
// change to the table must change this list, which is the point: each pair is a decision.

import { describe, expect, test } from "bun:test";
import { makeJob } from "../../../src/config/defaults.ts";
import { DEFAULT_POLICY } from "../../../src/config/defaults.ts";
import type { EventKind, Job, RunKind } from "../../../src/core/job.ts";
import { backoffDelayMs } from "../../../src/core/policy.ts";
import { transition } from "../../../src/core/transition.ts";
import { EVENTS, jobIn, NOW, PID, RUNS, spec } from "./table-fixtures.ts";

const EXPECTED: { readonly [S in RunKind]: { readonly [E in EventKind]: string } } = {
  waiting: {
    "started": "waiting",
    "start-failed": "waiting",
    "exited": "waiting",
    "group-empty": "waiting",
    "timer": "waiting",
    "stop-requested": "stopped | notify-dependants",
    "start-requested": "waiting | notify-dependants",
    "definition-changed": "waiting | notify-dependants",
    "removed": "removed | notify-dependants",
    "dependency-changed": "spawning | spawn, notify-dependants",
    "ready": "waiting",
    "not-ready": "waiting",
    "shutdown": "stopped | notify-dependants",
  },
  spawning: {
    "started": "running | log, notify-dependants",
    "start-failed": "backoff | log, log, notify-dependants",
    "exited": "spawning",
    "group-empty": "spawning",
    "timer": "spawning",
    "stop-requested": "spawning>stopped",
    "start-requested": "spawning",
    "definition-changed": "spawning>waiting",
    "removed": "spawning>removed",
    "dependency-changed": "spawning",
    "ready": "spawning",
    "not-ready": "spawning",
    "shutdown": "spawning>stopped",
  },
  starting: {
    "started": "starting",
    "start-failed": "starting",
    "exited": "waiting | log, job-event, notify-dependants",
    "group-empty": "starting",
    "timer": "stopping>backoff | log, log, signal SIGTERM, notify-dependants, log",
    "stop-requested": "stopping>stopped | log, log, signal SIGTERM, notify-dependants",
    "start-requested": "starting",
    "definition-changed": "stopping>waiting | log, log, signal SIGTERM, notify-dependants",
    "removed": "stopping>removed | log, log, signal SIGTERM, notify-dependants",
    "dependency-changed": "starting",
    "ready": "running | log, notify-dependants",
    "not-ready": "starting",
    "shutdown": "stopping>stopped | log, signal SIGTERM, notify-dependants",
  },
  running: {
    "started": "running",
    "start-failed": "running",
    "exited": "waiting | log, job-event, notify-dependants",
    "group-empty": "running",
    "timer": "stopping>waiting | log, log, signal SIGTERM, notify-dependants",
    "stop-requested": "stopping>stopped | log, log, signal SIGTERM, notify-dependants",
    "start-requested": "running",
    "definition-changed": "stopping>waiting | log, log, signal SIGTERM, notify-dependants",
    "removed": "stopping>removed | log, log, signal SIGTERM, notify-dependants",
    "dependency-changed": "running",
    "ready": "running",
    "not-ready": "running",
    "shutdown": "stopping>stopped | log, signal SIGTERM, notify-dependants",
  },
  backoff: {
    "started": "backoff",
    "start-failed": "backoff",
    "exited": "backoff",
    "group-empty": "backoff",
    "timer": "waiting | notify-dependants",
    "stop-requested": "stopped | notify-dependants",
    "start-requested": "waiting | notify-dependants",
    "definition-changed": "waiting | notify-dependants",
    "removed": "removed | notify-dependants",
    "dependency-changed": "backoff",
    "ready": "backoff",
    "not-ready": "backoff",
    "shutdown": "stopped | notify-dependants",
  },
  stopping: {
    "started": "stopping>waiting",
    "start-failed": "stopping>waiting",
    "exited": "waiting | log, job-event, notify-dependants",
    "group-empty": "stopping>waiting",
    "timer": "stopping>waiting | log, signal SIGKILL",
    "stop-requested": "stopping>stopped",
    "start-requested": "stopping>waiting",
    "definition-changed": "stopping>waiting",
    "removed": "stopping>removed",
    "dependency-changed": "stopping>waiting",
    "ready": "stopping>waiting",
    "not-ready": "stopping>waiting",
    "shutdown": "stopping>stopped",
  },
  stopped: {
    "started": "stopped",
    "start-failed": "stopped",
    "exited": "stopped",
    "group-empty": "stopped",
    "timer": "stopped",
    "stop-requested": "stopped | notify-dependants",
    "start-requested": "waiting | notify-dependants",
    "definition-changed": "waiting | notify-dependants",
    "removed": "removed | notify-dependants",
    "dependency-changed": "stopped",
    "ready": "stopped",
    "not-ready": "stopped",
    "shutdown": "stopped",
  },
  done: {
    "started": "done",
    "start-failed": "done",
    "exited": "done",
    "group-empty": "done",
    "timer": "done",
    "stop-requested": "stopped | notify-dependants",
    "start-requested": "waiting | notify-dependants",
    "definition-changed": "waiting | notify-dependants",
    "removed": "removed | notify-dependants",
    "dependency-changed": "done",
    "ready": "done",
    "not-ready": "done",
    "shutdown": "done",
  },
  failed: {
    "started": "failed",
    "start-failed": "failed",
    "exited": "failed",
    "group-empty": "failed",
    "timer": "failed",
    "stop-requested": "stopped | notify-dependants",
    "start-requested": "waiting | notify-dependants",
    "definition-changed": "waiting | notify-dependants",
    "removed": "removed | notify-dependants",
    "dependency-changed": "failed",
    "ready": "failed",
    "not-ready": "failed",
    "shutdown": "failed",
  },
  disabled: {
    "started": "disabled",
    "start-failed": "disabled",
    "exited": "disabled",
    "group-empty": "disabled",
    "timer": "disabled",
    "stop-requested": "disabled",
    "start-requested": "waiting | notify-dependants",
    "definition-changed": "waiting | notify-dependants",
    "removed": "removed | notify-dependants",
    "dependency-changed": "disabled",
    "ready": "disabled",
    "not-ready": "disabled",
    "shutdown": "disabled",
  },
  removed: {
    "started": "removed",
    "start-failed": "removed",
    "exited": "removed",
    "group-empty": "removed",
    "timer": "removed",
    "stop-requested": "removed",
    "start-requested": "removed",
    "definition-changed": "removed",
    "removed": "removed",
    "dependency-changed": "removed",
    "ready": "removed",
    "not-ready": "removed",
    "shutdown": "removed",
  },
};

function summary(job: Job, kind: EventKind): string {
  const step = transition(job, EVENTS[kind], NOW, spec);
  const then = "then" in step.job.run && step.job.run.then ? `>${step.job.run.then.kind}` : "";
  const effects = step.effects.map((e) => (e.kind === "signal" ? `signal ${e.signal}` : e.kind)).join(", ");
  return `${step.job.run.kind}${then}${effects ? ` | ${effects}` : ""}`;
}

describe("every (state, event) pair", () => {
  for (const state of Object.keys(RUNS) as RunKind[]) {
    test(state, () => {
      const got = Object.fromEntries((Object.keys(EVENTS) as EventKind[]).map((e) => [e, summary(jobIn(RUNS[state]), e)]));
      expect(got).toEqual(EXPECTED[state]);
    });
  }
});

describe("decisions inside the steps", () => {
  const run = (job: Job, kind: EventKind, over = {}) => transition(job, { ...EVENTS[kind], ...over } as never, NOW, spec);

  test("a main process that leaves members in its group: they get the stop signal, the next run waits for them (issue 12 fault 5)", () => {
    const step = run(jobIn(RUNS.running), "exited", { groupAlive: true });
    expect(step.job.run).toMatchObject({ kind: "stopping", pid: PID, leaderGone: true, then: { kind: "waiting" }, killAt: NOW + 10_000 });
    expect(step.effects).toContainEqual({ kind: "signal", pgid: PID, signal: "SIGTERM" });
    const gone = transition(step.job, { kind: "group-empty" }, NOW + 5, spec);
    expect(gone.job.run.kind).toBe("waiting");
  });

  test("exit 33, once, never and on-failure after exit 0 are done; on-failure after exit 1 restarts", () => {
    const quick = { ...jobIn(RUNS.running) };
    expect(transition(quick, { ...EVENTS.exited, status: { kind: "exited", code: 33 } } as never, NOW, spec).job.run.kind).toBe("done");
    expect(transition(quick, EVENTS.exited, NOW, { ...spec, once: true }).job.run.kind).toBe("done");
    expect(transition(quick, EVENTS.exited, NOW, { ...spec, policy: { ...DEFAULT_POLICY, restart: "never" } }).job.run.kind).toBe("done");
    const onFailure = { ...spec, policy: { ...DEFAULT_POLICY, restart: "on-failure" as const } };
    expect(transition(quick, { ...EVENTS.exited, status: { kind: "exited", code: 0 } } as never, NOW, onFailure).job.run.kind).toBe("done");
    expect(transition(quick, EVENTS.exited, NOW, onFailure).job.run.kind).toBe("waiting");
    expect(transition(quick, { ...EVENTS.exited, status: { kind: "signaled", signal: "SIGSEGV" } } as never, NOW, onFailure).job.run.kind).toBe("waiting");
  });

  test("give up after N in T: the Nth quick exit within T fails the job, logged once with the fix, with a fail event", () => {
    const policy = { ...DEFAULT_POLICY, giveUp: { count: 3, windowMs: 60_000 }, backoffMinMs: 1_000, backoffMaxMs: 1_000 };
    const web = makeJob({ name: "web", argv: ["/bin/web"], policy });
    let job: Job = jobIn({ kind: "running", pid: PID, startedAt: NOW - 100, bounceAt: null });
    const kinds: string[] = [];
    let effects: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = NOW + i * 2_000;
      job = { ...job, run: { kind: "running", pid: PID, startedAt: t - 100, bounceAt: null } };
      const step = transition(job, EVENTS.exited, t, web);
      job = step.job;
      kinds.push(job.run.kind);
      effects = step.effects.map((e) => (e.kind === "log" ? e.message : e.kind === "job-event" ? `event ${e.event.kind}` : e.kind));
    }
    expect(kinds).toEqual(["backoff", "backoff", "failed"]);
    expect(effects).toContain("job web gave up: 3 exits in 60 s; pmtr start web to retry");
    expect(effects).toContain("event fail");
    // pmtr start clears it.
    expect(transition(job, EVENTS["start-requested"], NOW + 10_000, web).job.run.kind).toBe("waiting");
  });

  test("backoff: MIN doubling up to MAX; jitter within ±10 %; a run as long as `stable` resets the series", () => {
    const policy = { ...DEFAULT_POLICY, backoffMinMs: 1_000, backoffMaxMs: 8_000 };
    expect([1, 2, 3, 4, 5, 6].map((q) => backoffDelayMs(policy, q, "x"))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelayMs({ ...policy, jitter: true }, 3, `web:${i}`);
      expect(d).toBeGreaterThanOrEqual(3_600);
      expect(d).toBeLessThanOrEqual(4_400);
    }
    const web = makeJob({ name: "web", argv: ["/bin/web"], policy: { ...policy, stableMs: 30_000 } });
    const quick = transition({ ...jobIn(RUNS.running), history: { ...jobIn(RUNS.running).history, quickRuns: 2 } }, EVENTS.exited, NOW, web);
    expect(quick.job.run).toEqual({ kind: "backoff", restartAt: NOW + 4_000, attempt: 3 });
    const stable = transition(jobIn({ kind: "running", pid: PID, startedAt: NOW - 30_000, bounceAt: null }), EVENTS.exited, NOW, web);
    expect(stable.job.run.kind).toBe("waiting");
    expect(stable.job.history.quickRuns).toBe(0);
  });

  test("the stop signal and timeout are the job's own", () => {
    const web = makeJob({ name: "web", argv: ["/bin/web"], policy: { ...DEFAULT_POLICY, stopSignal: "SIGQUIT", stopTimeoutMs: 30_000 } });
    const step = transition(jobIn(RUNS.running), EVENTS["stop-requested"], NOW, web);
    expect(step.job.run).toMatchObject({ kind: "stopping", signal: "SIGQUIT", killAt: NOW + 30_000 });
    expect(step.effects).toContainEqual({ kind: "signal", pgid: PID, signal: "SIGQUIT" });
    expect(step.effects).toContainEqual({ kind: "log", level: "info", message: `sending SIGQUIT to job web [${PID}]` });
  });

  test("a policy-only change applies in place: the process keeps running", () => {
    const step = transition(jobIn(RUNS.running), { kind: "definition-changed", inPlace: true, fields: ["policy"] }, NOW, spec);
    expect(step.job.run).toBe(RUNS.running);
    expect(step.effects).toEqual([{ kind: "log", level: "info", message: "job web: policy changed, applied in place" }]);
  });

  test("overrides: pmtr stop holds, pmtr start of a file-disabled job runs it; a definition change ends both", () => {
    const stopped = transition(jobIn(RUNS.running), EVENTS["stop-requested"], NOW, spec).job;
    expect(stopped.override).toBe("stopped");
    const disabled = makeJob({ name: "web", argv: ["/bin/web"], disabled: true });
    const started = transition(jobIn(RUNS.disabled), EVENTS["start-requested"], NOW, disabled).job;
    expect(started).toMatchObject({ override: "started", run: { kind: "waiting" } });
    expect(transition(started, { kind: "definition-changed", inPlace: false, fields: ["nice"] }, NOW, disabled).job).toMatchObject({ override: null, run: { kind: "disabled" } });
  });
});
