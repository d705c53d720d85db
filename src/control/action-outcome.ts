// When has `pmtr start|stop|restart` taken effect, and how to say what happened (SPEC §10).
// Pure: the server calls outcomeOf after each job change and timeoutOutcome at the deadline.
//
// A start succeeds once the job has been running (ready, for a job with `ready`) for
// STABLE_START_MS, or has exited 0 for good (`once`, `restart on-failure`); it fails as soon as
// the job is seen in a state it cannot start from by itself (backoff, failed, done after a
// non-zero exit, waiting for something), with the supervisor's sentence saying why. Answering
// "started" the moment a pid exists told an operator a crash-looping job was fine.

import type { ExitRecord, JobView } from "./job-view.ts";
import type { ActionOp, ActionResult } from "./protocol.ts";
import { formatExit } from "./status-format.ts";

/** How long a started job must stay running (and ready) to count as started. */
export const STABLE_START_MS = 1_000;

/** When the supervisor does not say (JobView.deadlineMs): a stop may take the whole 10 s grace
 *  period before SIGKILL, plus the kill itself; a start must last STABLE_START_MS. */
export const DEFAULT_DEADLINE_MS: Readonly<Record<ActionOp, number>> = { start: 6_000, stop: 13_000, restart: 19_000 };

/** How long to wait for the outcome of `op` on these jobs: the longest of their deadlines. */
export function deadlineFor(op: ActionOp, jobs: readonly JobView[]): number {
  return Math.max(0, ...jobs.map((j) => j.deadlineMs ?? DEFAULT_DEADLINE_MS[op]));
}

/** The result of acting on a job that needs no action (start of a running job); null otherwise. */
export function alreadyDone(op: ActionOp, before: JobView): ActionResult | null {
  if (op === "start" && isRunning(before)) return { name: before.name, ok: true, message: `already running [${before.pid}]` };
  return null;
}

/**
 * The result once `now` shows the action has taken effect or visibly failed; null while pending.
 * `runningForMs`: how long the handler has seen `now`'s process running (and ready), 0 if not.
 */
export function outcomeOf(op: ActionOp, before: JobView, now: JobView, runningForMs = 0): ActionResult | null {
  const name = now.name;
  const state: string = now.state;
  if (op === "stop") {
    if (now.pid !== null || state === "running" || state === "stopping" || state === "starting") return null;
    return { name, ok: true, message: before.pid === null ? "stopped (was not running)" : "stopped" };
  }
  const newRun = op === "start" || now.pid !== before.pid;
  if (isRunning(now) && newRun) {
    if (runningForMs >= STABLE_START_MS) {
      return { name, ok: true, message: `${op === "start" ? "started" : "restarted"} [${now.pid}]` };
    }
    return null;
  }
  // `waiting` is an answer at once: it names what the job waits for, which may never come.
  // (The supervisor before SPEC §10 called a start in flight `waiting`: only trust it with a reason.)
  if (state === "waiting" && now.reason !== undefined) return { name, ok: false, message: `not started: ${now.reason}` };
  if (!hasMoved(before, now)) return null;
  if (state === "done" && now.lastExit?.kind === "exited" && now.lastExit.code === 0) {
    return { name, ok: true, message: `ran and exited 0${now.reason === undefined ? "" : ` (${now.reason})`}` };
  }
  if (ENDED.has(state)) return { name, ok: false, message: describeFailure(now) };
  return null;
}

/** States a start or restart can end in without running: the answer is then "failed". */
const ENDED = new Set(["backoff", "failed", "done", "stopped", "disabled", "delayed", "failed-to-start"]);

export function timeoutOutcome(op: ActionOp, now: JobView, waitedMs: number): ActionResult {
  const pid = now.pid === null ? "" : ` [${now.pid}]`;
  const why = now.reason !== undefined ? `: ${now.reason}` : now.state === "waiting" ? " (behind a `wait` job, or a `depends` file is missing)" : "";
  const what = op === "stop" ? "stopped" : isRunning(now) ? "running for 1 s" : "running";
  return { name: now.name, ok: false, message: `not ${what} after ${waitedMs / 1000} s: ${now.state}${pid}${why}` };
}

function describeFailure(now: JobView): string {
  if (now.reason !== undefined) return `not running (${now.state}): ${now.reason}`;
  const exit = now.lastExit === null ? "" : ` (last exit: ${formatExit(now.lastExit)})`;
  switch (now.state as string) {
    case "failed-to-start": return `failed to start${exit}; the log says why`;
    case "delayed": return `exited at once${exit}; restart delayed`;
    default: return `exited${exit} and will not be restarted`;
  }
}

function isRunning(job: JobView): boolean {
  return job.state === "running" && job.pid !== null;
}

/** Something happened to the job since the request: not just the state it was already in. */
function hasMoved(before: JobView, now: JobView): boolean {
  return before.state !== now.state || before.restarts !== now.restarts || before.pid !== now.pid ||
    !sameExit(before.lastExit, now.lastExit) || before.lastStartError?.atMs !== now.lastStartError?.atMs;
}

function sameExit(a: ExitRecord | null, b: ExitRecord | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
