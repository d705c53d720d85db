// When has `pmtr start|stop|restart` taken effect, and how to say what happened. Pure: the
// server calls outcomeOf after each job change and timeoutOutcome when the deadline passes.

import type { ActionOp, ActionResult } from "./protocol.ts";
import { formatExit } from "./status-format.ts";
import type { JobStatus } from "./target.ts";

/** A stop may take the whole 10 s grace period before SIGKILL, plus the kill itself. */
export const ACTION_DEADLINE_MS: Readonly<Record<ActionOp, number>> = { start: 5_000, stop: 13_000, restart: 18_000 };

/** States a start can end in without running. */
const START_FAILED = new Set(["failed-to-start", "delayed", "backoff", "failed", "done"]);

/** The result of acting on a job that needs no action (start of a running job); null otherwise. */
export function alreadyDone(op: ActionOp, before: JobStatus): ActionResult | null {
  if (op === "start" && isRunning(before)) return { name: before.name, ok: true, message: `already running [${before.pid}]` };
  return null;
}

/** The result once `now` shows the action has taken effect (or visibly failed); null while pending. */
export function outcomeOf(op: ActionOp, before: JobStatus, now: JobStatus): ActionResult | null {
  const name = now.name;
  if (op === "stop") {
    if (now.pid !== null || now.state === "running" || now.state === "stopping") return null;
    return { name, ok: true, message: before.pid === null ? "stopped (was not running)" : "stopped" };
  }
  if (isRunning(now) && (op === "start" || now.pid !== before.pid)) {
    return { name, ok: true, message: `${op === "start" ? "started" : "restarted"} [${now.pid}]` };
  }
  if (START_FAILED.has(now.state) && hasMoved(before, now)) return { name, ok: false, message: describeFailure(now) };
  return null;
}

export function timeoutOutcome(op: ActionOp, now: JobStatus, waitedMs: number): ActionResult {
  const pid = now.pid === null ? "" : ` [${now.pid}]`;
  const hint = now.state === "waiting" ? " (behind a `wait` job, or a `depends` file is missing)" : "";
  return { name: now.name, ok: false, message: `not ${op === "stop" ? "stopped" : "running"} after ${waitedMs / 1000} s: ${now.state}${pid}${hint}` };
}

function describeFailure(now: JobStatus): string {
  const exit = now.lastExit === null ? "" : ` (last exit: ${formatExit(now.lastExit)})`;
  switch (now.state) {
    case "failed-to-start": return `failed to start${exit}; the log says why`;
    case "delayed": return `exited at once${exit}; restart delayed`;
    case "backoff": case "failed": return now.reason; // (core: the state's sentence)
    default: return `exited${exit} and will not be restarted`;
  }
}

function isRunning(job: JobStatus): boolean {
  return job.state === "running" && job.pid !== null;
}

/** Something happened to the job since the request: not just the state it was already in. */
function hasMoved(before: JobStatus, now: JobStatus): boolean {
  return before.state !== now.state || before.restarts !== now.restarts || before.pid !== now.pid ||
    JSON.stringify(before.lastExit) !== JSON.stringify(now.lastExit);
}
