// One job as `pmtr status` shows it (SPEC §10): the public state name and one sentence saying
// why, with the history and definition details the detail view and --json carry. Pure: the
// monotonic clock of the core is turned into epoch milliseconds with `wallNow`.

import type { JobSpec, Probe } from "../config/model.ts";
import type { Exit, Job } from "./job.ts";
import { describeExit, seconds } from "./messages.ts";
import type { ExitRecord, JobState, JobStatus } from "./status.ts";

/** Margin on top of a job's own timeouts for a start to be seen and to last the 1 s that
 *  makes it a success (SPEC §10). */
const START_MARGIN_MS = 5_000;

/** "14:02" for an epoch time, local: the OS side gives one that does not load the runtime's
 *  time-zone support (os/log/local-time.ts); the default, Date's, is for tests. */
export type LocalClock = (epochMs: number) => string;

export function jobStatus(spec: JobSpec, job: Job, now: number, wallNow: number, statusText: string | null = null, clock: LocalClock = dateClock): JobStatus {
  const epoch = (mono: number) => Math.round(wallNow - (now - mono));
  const run = job.run;
  const history = job.history;
  const current = run.kind === "starting" || run.kind === "running" || run.kind === "stopping" ? run.startedAt : null;
  const lastStart = current ?? history.lastStartedAt;
  const pid = run.kind === "starting" || run.kind === "running" || (run.kind === "stopping" && !run.leaderGone) ? run.pid : null;
  const exits = history.exits.map((e) => exitRecord(e, epoch));
  const lastError = history.lastStartError;
  return {
    name: spec.name,
    state: stateOf(job),
    reason: reasonOf(spec, job, now, wallNow, clock),
    enabled: job.override === "started" || (job.override !== "stopped" && !spec.disabled),
    pid,
    sinceStartMs: lastStart === null ? null : Math.round(now - lastStart),
    startedAt: lastStart === null ? null : epoch(lastStart),
    restarts: Math.max(0, history.runs - 1),
    lastExit: exits.at(-1) ?? null,
    lastStartError: lastError === null ? null : { step: lastError.step, error: lastError.error, atMs: epoch(lastError.at) },
    nextRestartAt: run.kind === "backoff" ? epoch(run.restartAt) : null,
    exits,
    ready: run.kind === "running",
    statusText,
    cmd: spec.argv[0] ?? "",
    argv: spec.argv,
    user: spec.user,
    dir: spec.dir,
    out: spec.out,
    err: spec.err,
    source: { file: spec.source.file, line: spec.source.line },
    deadlineMs: spec.policy.stopTimeoutMs + (spec.ready?.withinMs ?? 0) + START_MARGIN_MS,
  };
}

export function stateOf(job: Job): JobState {
  const run = job.run;
  switch (run.kind) {
    case "spawning":
      return "starting";
    case "removed":
      return "stopped";
    default:
      return run.kind;
  }
}

/** The INFO sentence (SPEC §10's examples). */
export function reasonOf(spec: JobSpec, job: Job, now: number, wallNow: number, clock: LocalClock = dateClock): string {
  const run = job.run;
  const history = job.history;
  switch (run.kind) {
    case "waiting":
      return run.blocker?.text ?? "waiting to start";
    case "spawning":
      return "starting";
    case "starting": {
      const probe = spec.ready === null ? "" : ` (${describeProbe(spec.ready.probe)})`;
      const last = history.notReadyReason === null ? "" : `: ${history.notReadyReason}`;
      return `not ready yet${probe}, ${seconds(floorSec(now - run.startedAt))} of ${seconds(spec.ready?.withinMs ?? 0)}${last}`;
    }
    case "running":
      return `up ${uptime(now - run.startedAt)}`;
    case "backoff": {
      const restart = `restart in ${seconds(Math.max(0, ceilSec(run.restartAt - now)))} (attempt ${run.attempt})`;
      return `${lastEnd(job)}; ${restart}`;
    }
    case "stopping": {
      const kill = run.killAt === null ? "SIGKILL sent" : `SIGKILL in ${seconds(Math.max(0, ceilSec(run.killAt - now)))}`;
      if (run.leaderGone) return `exited; stopping what it left in its process group, ${kill}`;
      return `${run.signal} sent ${seconds(floorSec(now - run.sentAt))} ago; ${kill}`;
    }
    case "stopped":
      if (run.by === "shutdown") return "stopped: pmtr is shutting down";
      return `stopped by ${run.by === "udp disable" ? "UDP disable" : "pmtr stop"} at ${clock(wallNow - (now - run.atMs))}`;
    case "done":
      return `${lastEnd(job)}: not restarted`;
    case "failed": {
      const giveUp = spec.policy.giveUp;
      const what = giveUp === null ? "gave up" : `gave up: ${giveUp.count} exits in ${seconds(giveUp.windowMs)}`;
      return `${what}; pmtr start ${spec.name} to retry`;
    }
    case "disabled":
      return spec.source.line > 0 ? `disabled in ${basename(spec.source.file)}:${spec.source.line}` : "disabled in the configuration";
    case "removed":
      return "removed from the configuration";
  }
}

/** "exit 3 after 0.2 s", "killed by SIGSEGV after 4 s" or "failed to start: dir: ...",
 *  whichever happened last. */
function lastEnd(job: Job): string {
  const exit = job.history.exits.at(-1);
  const error = job.history.lastStartError;
  // A start error of the last run (a `ready … within` that ran out, then the stop's exit) is
  // its reason, not the SIGTERM pmtr sent because of it: compare with when that run began.
  if (error !== null && (exit === undefined || error.at >= exit.at - exit.ranMs)) return `failed to start: ${error.step}: ${error.error}`;
  if (exit === undefined) return "not run yet";
  const how = exit.kind === "exited" ? `exit ${exit.code}` : describeExit(exit);
  return `${how} after ${seconds(exit.ranMs)}`;
}

function exitRecord(e: Exit, epoch: (mono: number) => number): ExitRecord {
  const at = epoch(e.at);
  return e.kind === "exited"
    ? { kind: "exited", code: e.code, atMs: at, ranMs: Math.round(e.ranMs) }
    : { kind: "signaled", signal: e.signal, atMs: at, ranMs: Math.round(e.ranMs) };
}

export function describeProbe(probe: Probe): string {
  switch (probe.kind) {
    case "tcp":
      return `tcp ${probe.host}:${probe.port}`;
    case "http":
      return `http ${probe.url}`;
    case "file":
      return `file ${probe.path}`;
    case "exec":
      return `exec ${probe.argv.join(" ")}`;
    case "notify":
      return "notify";
  }
}

/** "45 s", "3m12s", "2h05m", "3d04h". */
export function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d${pad(h % 24)}h`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function floorSec(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function ceilSec(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}

/** "14:02", local time, by Date (loads ICU's time zones: see LocalClock). */
function dateClock(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1) || path;
}
