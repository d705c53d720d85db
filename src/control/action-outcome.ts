// When has `pmtr start|stop|restart` taken effect, and how to say what happened (SPEC §10).
// Pure: the server calls outcomeOf after each job change and timeoutOutcome at the deadline.
//
// A start succeeds once the job has been running (ready, for a job with `ready`) for
// STABLE_START_MS, or has exited 0 for good (`once`, `restart on-failure`); it fails as soon as
// the job is seen in a state it cannot start from by itself (backoff, failed, done after a
// non-zero exit, waiting for something), with the supervisor's sentence saying why. Answering
// "started" the moment a pid exists told an operator a crash-looping job was fine.

import type { ActionOp, ActionResult } from "./protocol.ts";
import type { JobStatus } from "./target.ts";

/** How long a started job must stay running (and ready) to count as started. */
export const STABLE_START_MS = 1_000;

/** How long to wait for the outcome of an action on these jobs: the longest of the deadlines
 *  the supervisor gives them (their stop timeout, `ready … within`, a margin for the 1 s). */
export function deadlineFor(jobs: readonly JobStatus[]): number {
  return Math.max(0, ...jobs.map((j) => j.deadlineMs));
}

/** The result of acting on a job that needs no action (start of a running job); null otherwise. */
export function alreadyDone(op: ActionOp, before: JobStatus): ActionResult | null {
  if (op === "start" && isRunning(before)) return { name: before.name, ok: true, message: `already running [${before.pid}]` };
  return null;
}

/**
 * The result once `now` shows the action has taken effect or visibly failed; null while pending.
 * `runningForMs`: how long the handler has seen `now`'s process running (and ready), 0 if not.
 */
export function outcomeOf(op: ActionOp, before: JobStatus, now: JobStatus, runningForMs = 0): ActionResult | null {
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
  if (state === "waiting") return { name, ok: false, message: `not started: ${now.reason}` };
  if (!hasMoved(before, now)) return null;
  if (state === "done" && now.lastExit?.kind === "exited" && now.lastExit.code === 0) {
    return { name, ok: true, message: `ran and exited 0 (${now.reason})` };
  }
  if (ENDED.has(state)) return { name, ok: false, message: `not running (${now.state}): ${now.reason}` };
  return null;
}

/** States a start or restart can end in without running: the answer is then "failed". */
const ENDED = new Set(["backoff", "failed", "done", "stopped", "disabled"]);

export function timeoutOutcome(op: ActionOp, now: JobStatus, waitedMs: number): ActionResult {
  const pid = now.pid === null ? "" : ` [${now.pid}]`;
  const what = op === "stop" ? "stopped" : isRunning(now) ? "running for 1 s" : "running";
  return { name: now.name, ok: false, message: `not ${what} after ${waitedMs / 1000} s: ${now.state}${pid}: ${now.reason}` };
}

function isRunning(job: JobStatus): boolean {
  return job.state === "running" && job.pid !== null;
}

/** Something happened to the job since the request: not just the state it was already in. */
function hasMoved(before: JobStatus, now: JobStatus): boolean {
  return before.state !== now.state || before.restarts !== now.restarts || before.pid !== now.pid ||
    !sameExit(before.lastExit, now.lastExit) || before.lastStartError?.atMs !== now.lastStartError?.atMs;
}

function sameExit(a: JobStatus["lastExit"], b: JobStatus["lastExit"]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
