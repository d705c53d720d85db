// The local control socket's protocol: one request per connection, one response, each a
// single line of JSON. Both are bounded so a confused or hostile peer cannot make pmtr buffer
// without limit.

import type { JobSpec } from "../config/model.ts";
import type { ExitStatus } from "../core/ports.ts";
import { parseSignal } from "./signals.ts";
import type { ExitRecord, JobStatus } from "../core/status.ts";
import type { JobState } from "./target.ts";

export const MAX_MESSAGE_BYTES = 64 * 1024;

export type ActionOp = "start" | "stop" | "restart";

/** `all` (`--all`) stands for every job; `names` is then empty. */
export type ControlRequest =
  /** `detail`: also read each job's process-group memory and CPU (always with names). */
  | { readonly op: "status"; readonly names: readonly string[]; readonly all?: boolean; readonly detail?: boolean }
  | { readonly op: ActionOp; readonly names: readonly string[]; readonly all?: boolean }
  | { readonly op: "signal"; readonly signal: string; readonly names: readonly string[] }
  | { readonly op: "reload" }
  /** SPEC §13: reopen pmtr's -l file and every rotated output (as SIGUSR1). */
  | { readonly op: "reopen" }
  /** SPEC §15 `pmtr -t --diff`: the job definitions pmtr runs now (the last applied file). */
  | { readonly op: "config" };

/** One ended run in `pmtr status --json`: the core's record, sent as it is. */
export type StatusExit = ExitRecord;

/** One job in `pmtr status --json`; a stable shape for scripts (README: JSON Schema). Every
 *  field is always present; null where it does not apply. The core's JobStatus as it is, but
 *  for what only pmtr itself uses (`sinceStartMs`, `deadlineMs`) and two fields made for the
 *  client: */
export interface StatusJob extends Omit<JobStatus, "sinceStartMs" | "deadlineMs"> {
  /** Seconds the current run has lasted; null when not running. */
  readonly uptimeSec: number | null;
  /** Memory and CPU of the job's whole process group, read from /proc when asked for (status
   *  NAME, --json); null when not running or not asked. */
  readonly usage: GroupUsage | null;
}

/** What the table shows of a job: the whole StatusJob of 1000 jobs is ~400 KB of JSON to write
 *  and parse, the row a third of it. */
export type StatusRow = Pick<StatusJob, "name" | "state" | "reason" | "enabled" | "pid" | "uptimeSec" | "restarts" | "lastExit">;

export interface GroupUsage {
  readonly rssBytes: number;
  readonly cpuSeconds: number;
  readonly processes: number;
}

export interface ActionResult {
  readonly name: string;
  readonly ok: boolean;
  /** What happened, e.g. "started [1234]", "stopped", "failed to start". */
  readonly message: string;
}

export type ControlResponse =
  /** `jobs` are whole StatusJobs for `detail` or named requests, StatusRows for the table. */
  | { readonly ok: true; readonly op: "status"; readonly jobs: readonly StatusRow[]; readonly unknown: readonly string[] }
  /** Sent first for start/stop/restart, before the outcome: how long the client should wait
   *  for it (the jobs' stop timeout, ready within, and the 1 s a start must last). */
  | { readonly ok: true; readonly op: "accepted"; readonly deadlineMs: number }
  | { readonly ok: true; readonly op: "action"; readonly results: readonly ActionResult[] }
  | { readonly ok: true; readonly op: "reload"; readonly applied: boolean; readonly messages: readonly string[] }
  /** `messages`: one per file that could not be reopened. */
  | { readonly ok: true; readonly op: "reopen"; readonly messages: readonly string[] }
  | { readonly ok: true; readonly op: "config"; readonly jobs: readonly JobSpec[] }
  /** The request was refused as a whole; `unknown` lists names that are not jobs. */
  | { readonly ok: false; readonly error: string; readonly unknown?: readonly string[] };

export function encode(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

/** Check a request line from a peer. Names must be non-empty words: they are compared with job
 *  names and echoed in messages, so anything else is refused rather than looked up. */
export function decodeRequest(line: string): { ok: true; request: ControlRequest } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: "request is not JSON" };
  }
  if (typeof raw !== "object" || raw === null) return { ok: false, error: "request is not a JSON object" };
  const r = raw as Record<string, unknown>;
  const names = r.names === undefined ? [] : r.names;
  if (!Array.isArray(names) || !names.every((n) => typeof n === "string" && /^\S+$/.test(n) && n.length <= 1024)) {
    return { ok: false, error: "request names must be a list of job names" };
  }
  const all = r.all === true;
  if (all && names.length > 0) return { ok: false, error: "give job names or all, not both" };
  switch (r.op) {
    case "status":
      return { ok: true, request: { op: "status", names, ...(all ? { all } : {}), ...(r.detail === true ? { detail: true } : {}) } };
    case "start":
    case "stop":
    case "restart":
      if (names.length === 0 && !all) return { ok: false, error: `${r.op} needs at least one job name, or all` };
      return { ok: true, request: { op: r.op, names, ...(all ? { all } : {}) } };
    case "signal": {
      const signal = typeof r.signal === "string" ? parseSignal(r.signal) : null;
      if (signal === null) return { ok: false, error: `unknown signal ${JSON.stringify(r.signal)}` };
      if (names.length === 0) return { ok: false, error: "signal needs at least one job name" };
      return { ok: true, request: { op: "signal", signal, names } };
    }
    case "reload":
      return { ok: true, request: { op: "reload" } };
    case "reopen":
      return { ok: true, request: { op: "reopen" } };
    case "config":
      return { ok: true, request: { op: "config" } };
    default:
      return { ok: false, error: `unknown request ${JSON.stringify(r.op)} (expected status, start, stop, restart, signal, reload, reopen or config)` };
  }
}
