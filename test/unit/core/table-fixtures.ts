// One representative job per run state and one representative event per event kind, for the
// table-driven walk over every (state, event) pair (transition.test.ts). The manual clock
// stands at NOW; the job ran 20 s (long enough to restart at once under the default policy).

import { makeJob } from "../../../src/config/defaults.ts";
import type { JobSpec } from "../../../src/config/model.ts";
import { EMPTY_HISTORY, type Event, type EventKind, type Job, type Run, type RunKind } from "../../../src/core/job.ts";

export const NOW = 1_000_000;
export const PID = 4242;
const STARTED = NOW - 20_000;

export const spec: JobSpec = makeJob({ name: "web", argv: ["/bin/web"] });

export const RUNS: { readonly [K in RunKind]: Run } = {
  waiting: { kind: "waiting" },
  spawning: { kind: "spawning", then: null },
  starting: { kind: "starting", pid: PID, startedAt: STARTED, readyBy: NOW, probe: null },
  running: { kind: "running", pid: PID, startedAt: STARTED, bounceAt: NOW },
  backoff: { kind: "backoff", restartAt: NOW, attempt: 2 },
  stopping: { kind: "stopping", pid: PID, startedAt: STARTED, signal: "SIGTERM", sentAt: NOW - 10_000, killAt: NOW, leaderGone: false, then: { kind: "waiting" } },
  stopped: { kind: "stopped", atMs: NOW - 1, by: "pmtr stop" },
  done: { kind: "done" },
  failed: { kind: "failed" },
  disabled: { kind: "disabled" },
  removed: { kind: "removed" },
};

export const EVENTS: { readonly [K in EventKind]: Event } = {
  started: { kind: "started", pid: PID, startedAt: NOW },
  "start-failed": { kind: "start-failed", step: "dir", error: "/srv: No such file or directory" },
  exited: { kind: "exited", pid: PID, status: { kind: "exited", code: 1 }, groupAlive: false },
  "group-empty": { kind: "group-empty" },
  timer: { kind: "timer" },
  "stop-requested": { kind: "stop-requested", by: "pmtr stop" },
  "start-requested": { kind: "start-requested", restart: false, operator: true, why: null },
  "definition-changed": { kind: "definition-changed", inPlace: false, fields: ["argv"] },
  removed: { kind: "removed" },
  "dependency-changed": { kind: "dependency-changed", blocker: null },
  ready: { kind: "ready" },
  "not-ready": { kind: "not-ready", reason: "connect: Connection refused" },
  shutdown: { kind: "shutdown" },
};

export function jobIn(run: Run): Job {
  return { run, override: null, history: { ...EMPTY_HISTORY, runs: 1, lastStartedAt: STARTED } };
}
