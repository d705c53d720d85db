// `pmtr status`: the job table people read (with INFO, the sentence saying why), the detail
// view of `pmtr status NAME`, the JSON scripts parse, and the exit codes all three get. Pure:
// the client only prints what these return.

import type { ExitStatus } from "../core/ports.ts";
import type { GroupUsage, StatusExit, StatusJob, StatusRow } from "./protocol.ts";
import type { ExitRecord, JobStatus } from "./target.ts";

/** Exit codes of the client commands. `status` follows LSB (0 running, 3 not running, 4 unknown). */
export const CLIENT_EXIT = {
  ok: 0,
  failed: 1, // an action did not take effect, or reload found errors
  usage: 2,
  notRunning: 3, // status: some job is not running
  unknown: 4, // an unknown job, or no pmtr to ask
} as const;

/** The JSON form of one job; `usage` is its process group's, when it was read. */
export function toStatusJob(job: JobStatus, usage: GroupUsage | null = null): StatusJob {
  const { name, state, reason, enabled, pid, uptimeSec, restarts, lastExit } = toStatusRow(job);
  return {
    name,
    state,
    reason,
    enabled,
    pid,
    uptimeSec,
    startedAt: job.startedAt,
    restarts,
    lastExit,
    lastStartError: job.lastStartError === null ? null : { step: job.lastStartError.step, error: job.lastStartError.error, atMs: job.lastStartError.atMs },
    nextRestartAt: job.nextRestartAt,
    exits: job.exits.map(toStatusExit),
    ready: job.ready,
    statusText: job.statusText,
    cmd: job.cmd,
    argv: job.argv,
    user: job.user,
    dir: job.dir,
    out: job.out,
    err: job.err,
    source: { file: job.source.file, line: job.source.line },
    usage: job.pid === null ? null : usage,
  };
}

/** The table's part of a job (StatusJob's first fields, in its order). */
export function toStatusRow(job: JobStatus): StatusRow {
  const running = job.pid !== null && job.state === "running";
  return {
    name: job.name,
    state: job.state,
    reason: job.reason,
    enabled: job.enabled,
    pid: job.pid,
    uptimeSec: running && job.sinceStartMs !== null ? Math.max(0, Math.floor(job.sinceStartMs / 1000)) : null,
    restarts: job.restarts,
    lastExit: job.lastExit === null ? null : toStatusExit(job.lastExit),
  };
}

/** Only the documented fields, in a fixed order (README: JSON Schema). */
function toStatusExit(exit: ExitRecord): StatusExit {
  const how: ExitStatus = exit.kind === "exited" ? { kind: "exited", code: exit.code } : { kind: "signaled", signal: exit.signal };
  return { ...how, atMs: exit.atMs, ranMs: exit.ranMs };
}

const HEADERS = ["NAME", "STATE", "PID", "RESTARTS", "LAST EXIT", "INFO"] as const;

/** One row per job; INFO (last, never padded) says why the job is in its state. UPTIME is in
 *  INFO for a running job ("up 2h05m"), so it has no column of its own. Plain loops: with 1000
 *  jobs this runs once, cold, in a process that lives a few milliseconds. */
export function formatStatusTable(jobs: readonly StatusRow[]): string {
  const rows: string[][] = [[...HEADERS]];
  for (const j of jobs) {
    rows.push([j.name, j.state, j.pid === null ? "-" : String(j.pid), String(j.restarts), formatExit(j.lastExit), oneLine(j.reason)]);
  }
  const last = HEADERS.length - 1;
  const widths = new Array<number>(last).fill(0);
  for (const row of rows) {
    for (let i = 0; i < last; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
  }
  let text = "";
  for (const row of rows) {
    for (let i = 0; i < last; i++) text += `${row[i]!.padEnd(widths[i]!)}  `;
    text += `${row[last]}\n`;
  }
  return text;
}

/** `pmtr status NAME`: everything pmtr knows about one job, one fact per line. `nowMs` is the
 *  client's clock (epoch ms), for "3 s ago" and "in 8 s". */
export function formatDetail(job: StatusJob, nowMs: number): string {
  const lines: Array<[string, string]> = [];
  const add = (label: string, value: string | null) => {
    if (value !== null) lines.push([label, value]);
  };
  add("state", `${job.state}: ${oneLine(job.reason)}`);
  add("pid", job.pid === null ? "-" : String(job.pid));
  if (job.startedAt !== null) add(job.pid === null ? "last started" : "started", `${formatTime(job.startedAt)} (${ago(job.startedAt, nowMs)})`);
  add("restarts", String(job.restarts));
  add("last exit", job.lastExit === null ? "-" : describeRun(job.lastExit, nowMs));
  if (job.lastStartError !== null) {
    add("start error", `${job.lastStartError.step}: ${oneLine(job.lastStartError.error)} (${formatTime(job.lastStartError.atMs)})`);
  }
  if (job.nextRestartAt !== null) add("next restart", `${formatTime(job.nextRestartAt)} (${until(job.nextRestartAt, nowMs)})`);
  add("ready", job.ready ? "yes" : "no");
  if (job.statusText !== null) add("status text", oneLine(job.statusText));
  add("command", formatCommand(job.argv));
  add("user", job.user ?? "(pmtr's own)");
  add("dir", job.dir);
  add("out", job.out);
  add("err", job.err);
  add("defined in", job.source.line > 0 ? `${job.source.file}:${job.source.line}` : job.source.file);
  if (job.usage !== null) {
    const n = job.usage.processes;
    add("memory", `${formatBytes(job.usage.rssBytes)} RSS in ${n} ${n === 1 ? "process" : "processes"} of its process group`);
    add("cpu", `${formatSeconds(job.usage.cpuSeconds)} (user + system, live processes of its group)`);
  }
  const width = Math.max(...lines.map(([label]) => label.length));
  const text = [`${job.name}`, ...lines.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
  if (job.exits.length > 0) {
    text.push(`  last ${job.exits.length === 1 ? "exit" : `${job.exits.length} exits`}, newest first:`);
    for (const exit of [...job.exits].reverse()) text.push(`    ${describeRun(exit, nowMs)}`);
  }
  return `${text.join("\n")}\n`;
}

/** "exit 3 after 0.2 s, at 2026-12-01 13:02:10 (5 s ago)". */
function describeRun(exit: StatusExit, nowMs: number): string {
  return `${formatExit(exit)} after ${formatSeconds(exit.ranMs / 1000)}, at ${formatTime(exit.atMs)} (${ago(exit.atMs, nowMs)})`;
}

/** 42 s, 5m03s, 2h05m, 3d04h: the two largest units, like ps and systemctl keep it short (and
 *  as the supervisor's own sentences say it: "up 42 s"). */
export function formatDuration(totalSec: number): string {
  const d = Math.floor(totalSec / 86400);
  const h = Math.floor((totalSec % 86400) / 3600);
  const m = Math.floor((totalSec % 3600) / 60);
  const s = totalSec % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d}d${two(h)}h`;
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(s)}s`;
  return `${s} s`;
}

/** "0.2 s", "4 s", "1m05s": tenths only below 10 s, where they tell a crash loop apart. */
export function formatSeconds(sec: number): string {
  if (sec < 10) return `${Math.round(sec * 10) / 10} s`;
  if (sec < 60) return `${Math.round(sec)} s`;
  return formatDuration(Math.round(sec));
}

export function formatExit(exit: ExitStatus | null): string {
  if (exit === null) return "-";
  return exit.kind === "exited" ? `exit ${exit.code}` : exit.signal;
}

/** "12.3 MiB", "512 KiB": three figures at most. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 100 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Local time, "2026-12-01 13:02:10". */
export function formatTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function ago(epochMs: number, nowMs: number): string {
  return `${formatDuration(Math.max(0, Math.floor((nowMs - epochMs) / 1000)))} ago`;
}

function until(epochMs: number, nowMs: number): string {
  return `in ${formatDuration(Math.max(0, Math.ceil((epochMs - nowMs) / 1000)))}`;
}

/** argv as it would be written on a `cmd` line: arguments with blanks (or empty) in "...". */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (a === "" || /\s/.test(a) ? (a.includes('"') ? JSON.stringify(a) : `"${a}"`) : a)).join(" ");
}

/** A reason or OS error on one line, whatever it holds: the table and the view are line-based.
 *  The regular expression only when there is something to replace: running it for every row
 *  cost `pmtr status` ~0.8 MB of peak memory (docs/PERFORMANCE.md, Memory). */
function oneLine(text: string): string {
  return text.includes("\n") || text.includes("\r") || text.includes("\t") ? text.replace(/[\r\n\t]+/g, " ") : text;
}

/** States in which a job is down on purpose; `pmtr status` without names does not count them. */
const INTENDED_DOWN = new Set(["disabled", "done", "stopped"]);

/** LSB status: 4 for an unknown name, else 0 when every job considered runs, else 3. Without
 *  names, every job that is meant to run is considered. */
export function statusExitCode(jobs: readonly StatusRow[], unknown: readonly string[], named: boolean): number {
  if (unknown.length > 0) return CLIENT_EXIT.unknown;
  const considered = named ? jobs : jobs.filter((j) => !INTENDED_DOWN.has(j.state));
  return considered.every((j) => j.state === "running") ? CLIENT_EXIT.ok : CLIENT_EXIT.notRunning;
}
