// `pmtr status`: the job table people read and the JSON scripts parse, and the exit codes
// both get. Pure: the client only prints what these return.

import type { ExitStatus } from "../core/ports.ts";
import type { StatusJob } from "./protocol.ts";
import type { JobStatus } from "./target.ts";

/** Exit codes of the client commands. `status` follows LSB (0 running, 3 not running, 4 unknown). */
export const CLIENT_EXIT = {
  ok: 0,
  failed: 1, // an action did not take effect, or reload found errors
  usage: 2,
  notRunning: 3, // status: some job is not running
  unknown: 4, // an unknown job, or no pmtr to ask
} as const;

export function toStatusJob(job: JobStatus): StatusJob {
  const running = job.pid !== null && job.state === "running";
  return {
    name: job.name,
    state: job.state,
    enabled: job.enabled,
    pid: job.pid,
    uptimeSec: running && job.sinceStartMs !== null ? Math.max(0, Math.floor(job.sinceStartMs / 1000)) : null,
    restarts: job.restarts,
    lastExit: job.lastExit,
    cmd: job.cmd,
  };
}

const HEADERS = ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT"] as const;

export function formatStatusTable(jobs: readonly StatusJob[]): string {
  const rows = jobs.map((j) => [
    j.name,
    j.state,
    j.pid === null ? "-" : String(j.pid),
    j.uptimeSec === null ? "-" : formatDuration(j.uptimeSec),
    String(j.restarts),
    formatExit(j.lastExit),
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [[...HEADERS], ...rows].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

/** 42s, 5m03s, 2h05m, 3d04h: the two largest units, like ps and systemctl keep it short. */
export function formatDuration(totalSec: number): string {
  const d = Math.floor(totalSec / 86400);
  const h = Math.floor((totalSec % 86400) / 3600);
  const m = Math.floor((totalSec % 3600) / 60);
  const s = totalSec % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d}d${two(h)}h`;
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(s)}s`;
  return `${s}s`;
}

export function formatExit(exit: ExitStatus | null): string {
  if (exit === null) return "-";
  return exit.kind === "exited" ? `exit ${exit.code}` : exit.signal;
}

/** States in which a job is down on purpose; `pmtr status` without names does not count them. */
const INTENDED_DOWN = new Set(["disabled", "done", "stopped"]);

/** LSB status: 4 for an unknown name, else 0 when every job considered runs, else 3. Without
 *  names, every job that is meant to run is considered. */
export function statusExitCode(jobs: readonly StatusJob[], unknown: readonly string[], named: boolean): number {
  if (unknown.length > 0) return CLIENT_EXIT.unknown;
  const considered = named ? jobs : jobs.filter((j) => !INTENDED_DOWN.has(j.state));
  return considered.every((j) => j.state === "running") ? CLIENT_EXIT.ok : CLIENT_EXIT.notRunning;
}
