// Answers one control request against the supervisor. Every effect goes through the
// ControlTarget (the one place that decides), except forwarding a signal, which changes no
// supervision state: the supervisor sees its consequences as it sees any exit.

import { expandNames } from "../config/instances.ts";
import { alreadyDone, deadlineFor, outcomeOf, timeoutOutcome } from "./action-outcome.ts";
import type { ChangeWaiter } from "./change-waiter.ts";
import type { ActionOp, ActionResult, ControlRequest, ControlResponse, GroupUsage } from "./protocol.ts";
import { toStatusJob, toStatusRow } from "./status-format.ts";
import type { ControlLog, ControlTarget, JobStatus } from "./target.ts";

export interface HandlerContext {
  readonly target: ControlTarget;
  readonly waiter: ChangeWaiter;
  readonly log: ControlLog;
  /** process.kill, injectable for tests. */
  readonly kill?: (pid: number, signal: string) => void;
  /** Memory and CPU of process groups, for `status NAME` and `--json`; absent: not reported. */
  readonly groupUsage?: (pgids: readonly number[]) => Promise<ReadonlyMap<number, GroupUsage>>;
  /** Sends a response line before the final one (start/stop/restart: the deadline). */
  readonly early?: (response: ControlResponse) => void;
  /** The clock for "running for 1 s"; performance.now by default. */
  readonly nowMs?: () => number;
}

export async function handleRequest(request: ControlRequest, ctx: HandlerContext): Promise<ControlResponse> {
  if (request.op === "reload") {
    ctx.log("info", "control: reload");
    const outcome = await ctx.target.reload();
    return { ok: true, op: "reload", applied: outcome.applied, messages: outcome.applied ? [] : outcome.messages };
  }
  if (request.op === "config") {
    const jobs = ctx.target.config?.();
    return jobs === undefined ? { ok: false, error: "this pmtr cannot report its configuration" } : { ok: true, op: "config", jobs };
  }
  if (request.op === "reopen") {
    ctx.log("info", "control: reopen");
    return { ok: true, op: "reopen", messages: ctx.target.reopen?.() ?? [] };
  }
  const snapshot: readonly JobStatus[] = ctx.target.snapshot();
  const jobs = byName(snapshot);
  const all = "all" in request && request.all === true;
  // `web` stands for web.1 .. web.N when it has instances (SPEC §15).
  const names = all ? snapshot.map((j) => j.name) : expandNames(request.names, jobs);
  const unknown = names.filter((n) => !jobs.has(n));
  if (request.op === "status") {
    const shown = request.names.length === 0 ? [...snapshot] : names.filter((n) => jobs.has(n)).map((n) => jobs.get(n)!);
    if (request.names.length === 0 && request.detail !== true) return { ok: true, op: "status", jobs: shown.map(toStatusRow), unknown };
    const usage = await readUsage(shown, ctx);
    return { ok: true, op: "status", jobs: shown.map((j) => toStatusJob(j, j.pid === null ? null : usage.get(j.pid) ?? null)), unknown };
  }
  // All or nothing: a typo in one name must not half-apply a command.
  if (unknown.length > 0) return { ok: false, error: unknown.map((n) => `no job named ${JSON.stringify(n)}`).join("; "), unknown };

  ctx.log("info", `control: ${request.op}${request.op === "signal" ? ` ${request.signal}` : ""} ${all ? "--all" : names.join(" ")}`);
  const before = names.map((n) => jobs.get(n)!);
  const results = request.op === "signal" ? before.map((job) => forward(job, request.signal, ctx)) : await act(request.op, before, ctx);
  return { ok: true, op: "action", results };
}

/** Group usage is a scan of /proc: only for the views that show it (named, --json). A failed
 *  scan is "-", not a failed status. */
async function readUsage(jobs: readonly JobStatus[], ctx: HandlerContext): Promise<ReadonlyMap<number, GroupUsage>> {
  const pgids = jobs.flatMap((j) => (j.pid === null ? [] : [j.pid]));
  if (ctx.groupUsage === undefined || pgids.length === 0) return new Map();
  try {
    return await ctx.groupUsage(pgids);
  } catch {
    return new Map();
  }
}

async function act(op: ActionOp, before: readonly JobStatus[], ctx: HandlerContext): Promise<ActionResult[]> {
  const clock = ctx.nowMs ?? (() => performance.now());
  const results = new Map<string, ActionResult>();
  for (const job of before) {
    const done = alreadyDone(op, job);
    if (done) results.set(job.name, done);
  }
  const pending = before.filter((job) => !results.has(job.name));
  const deadlineMs = deadlineFor(pending);
  if (pending.length > 0) {
    ctx.early?.({ ok: true, op: "accepted", deadlineMs });
    ctx.target[op](pending.map((j) => j.name));
  }

  /** Since when each pending job has been seen running (and ready) with its current pid. */
  const runningSince = new Map<string, { pid: number; sinceMs: number }>();
  const current = () => byName(ctx.target.snapshot());
  const settle = () => {
    const now = current();
    const at = clock();
    // A job waiting for another job of the same command (`start --all` of a chain of `after`s)
    // gets its "waiting" answer only once the rest of the command has its answers: by then what
    // it waits for has started, or has failed to.
    const waiting = new Map<string, ActionResult>();
    for (const job of pending) {
      if (results.has(job.name)) continue;
      const nowJob = now.get(job.name);
      // A reload may remove the job while we wait.
      if (!nowJob) {
        results.set(job.name, { name: job.name, ok: false, message: "removed from the configuration meanwhile" });
        continue;
      }
      const seen = runningSince.get(job.name);
      let runningForMs = 0;
      if (nowJob.state === "running" && nowJob.pid !== null) {
        if (seen?.pid === nowJob.pid) runningForMs = at - seen.sinceMs;
        else runningSince.set(job.name, { pid: nowJob.pid, sinceMs: at });
      } else runningSince.delete(job.name);
      const outcome = outcomeOf(op, job, nowJob, runningForMs);
      if (outcome && nowJob.state === "waiting") waiting.set(job.name, outcome);
      else if (outcome) results.set(job.name, outcome);
    }
    if (pending.every((job) => results.has(job.name) || waiting.has(job.name))) {
      for (const [name, outcome] of waiting) results.set(name, outcome);
    }
    return pending.every((job) => results.has(job.name));
  };
  if (!(await ctx.waiter.until(settle, deadlineMs))) {
    const now = current();
    for (const job of pending) {
      if (!results.has(job.name)) results.set(job.name, timeoutOutcome(op, now.get(job.name) ?? job, deadlineMs));
    }
  }
  return before.map((job) => results.get(job.name)!);
}

function forward(job: JobStatus, signal: string, ctx: HandlerContext): ActionResult {
  if (job.pid === null) return { name: job.name, ok: false, message: `not running (${job.state}); no ${signal} sent` };
  const kill = ctx.kill ?? ((pid, sig) => process.kill(pid, sig));
  try {
    // The job leads its own process group (pgid == pid): the whole tree gets the signal.
    kill(-job.pid, signal);
  } catch (error) {
    return { name: job.name, ok: false, message: `cannot send ${signal} to [${job.pid}]: ${(error as Error).message}` };
  }
  ctx.log("info", `sending ${signal} to job ${job.name} [${job.pid}]`);
  return { name: job.name, ok: true, message: `sent ${signal} [${job.pid}]` };
}

function byName(jobs: readonly JobStatus[]): Map<string, JobStatus> {
  return new Map(jobs.map((j) => [j.name, j]));
}
