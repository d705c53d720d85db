// Every status line pmtr logs about its jobs, in one place. The wording of the original's
// lines (SPEC §7) is kept exactly, so existing log searches keep working; the rest follow
// the same shape: "job NAME [PID] ..." and no trailing period.

import type { ExitStatus } from "./ports.ts";

export const msg = {
  managing: (n: number) => `pmtr: managing ${n} ${n === 1 ? "job" : "jobs"}`,
  started: (name: string, pid: number) => `started job ${name} [${pid}]`,
  exited: (name: string, pid: number, ranMs: number, status: ExitStatus) =>
    `job ${name} [${pid}] exited after ${Math.floor(ranMs / 1000)} sec: ${describeExit(status)}`,
  tooFast: (name: string) => `job ${name} restarting too fast, delaying restart`,
  /** With `backoff` written in the file: the same prefix, so existing log searches still match. */
  tooFastDetail: (name: string, delayMs: number, attempt: number) =>
    `job ${name} restarting too fast, delaying restart (${seconds(delayMs)}, attempt ${attempt})`,
  doneOnSuccess: (name: string) => `job ${name} exited with status 0, will not be restarted (restart on-failure)`,
  gaveUp: (name: string, count: number, windowMs: number) =>
    `job ${name} gave up: ${count} exits in ${seconds(windowMs)}; pmtr start ${name} to retry`,
  ready: (name: string, pid: number) => `job ${name} [${pid}] is ready`,
  unhealthy: (name: string, failures: number, error: string) => `job ${name} unhealthy: ${failures} ${failures === 1 ? "check" : "checks"} failed: ${error}`,
  notReady: (name: string, withinMs: number, why: string | null) =>
    `job ${name} not ready after ${seconds(withinMs)}${why === null ? "" : `: ${why}`}`,
  exit33: (name: string) => `job ${name} exited with status 33, will not be restarted`,
  once: (name: string) => `job ${name} ran once, will not be restarted`,
  startFailed: (name: string, step: string, error: string) => `job ${name} failed to start: ${step}: ${error}`,
  sending: (signal: string, name: string, pid: number) => `sending ${signal} to job ${name} [${pid}]`,
  leftovers: (signal: string, name: string, pgid: number) =>
    `sending ${signal} to the processes job ${name} [${pgid}] left in its process group`,
  bouncing: (name: string, pid: number, ranMs: number) => `bouncing job ${name} [${pid}] after ${Math.floor(ranMs / 1000)} sec`,
  dependsMissing: (name: string, path: string) => `job ${name} is waiting for ${path}, which does not exist`,
  dependsRefused: (name: string, path: string) => `job ${name} is waiting for ${path}, which pmtr refuses to use until it is fixed`,
  dependsChanged: (path: string, name: string) => `${path} changed, restarting job ${name}`,
  removed: (name: string) => `stopping job ${name}: removed from the configuration`,
  disabled: (name: string) => `stopping job ${name}: disabled`,
  changed: (name: string) => `restarting job ${name}: definition changed`,
  changedInPlace: (name: string, fields: readonly string[]) => `job ${name}: ${fields.join(", ")} changed, applied in place`,
  restarting: (name: string) => `restarting job ${name}`,
  stopping: (name: string, by: string) => `stopping job ${name}: ${by}`,
  ignoringSignal: (name: string) => `ignoring signal ${name}`,
  reopening: "reopening log files",
  // SPEC §13: a captured output that cannot be written holds the job (backpressure), and says so.
  outputStalled: (name: string, where: string, error: string) =>
    `job ${name}: cannot write its output to ${where}: ${error}; the job waits until it can be written`,
  reopened: (files: number, failed: number) => `reopened ${files} log ${files === 1 ? "file" : "files"}${failed > 0 ? ` (${failed} failed)` : ""}`,
  outputResumed: (name: string, where: string) => `job ${name}: writing its output to ${where} again`,
  outputReaderFallback: (reason: string) =>
    `cannot start the output reader thread: ${reason}; reading captured output with Bun's stream instead (more memory while jobs write fast)`,
};

/** "exit status 0" or "killed by SIGTERM", as the exit line and `pmtr status` say it. */
export function describeExit(status: ExitStatus): string {
  return status.kind === "exited" ? `exit status ${status.code}` : `killed by ${status.signal}`;
}

/** "4 s", "0.2 s", "90 s": durations in log lines and status sentences. */
export function seconds(ms: number): string {
  if (ms < 10_000 && ms % 1000 !== 0) return `${(ms / 1000).toFixed(1).replace(/\.0$/, "")} s`;
  return `${Math.round(ms / 1000)} s`;
}

/** SPEC §14 `on exit` / `on fail` hooks (src/os/spawn/hooks.ts). */
export const hookMsg = {
  running: (name: string, kind: string, pid: number, coalesced: number) =>
    `running on ${kind} hook of job ${name} [${pid}]${coalesced > 0 ? ` (${coalesced} earlier ${coalesced === 1 ? "event" : "events"} coalesced into this one)` : ""}`,
  cannotStart: (name: string, kind: string, step: string, error: string) =>
    `cannot run on ${kind} hook of job ${name}: ${step}: ${error} (the job is not affected)`,
  ended: (name: string, kind: string, pid: number, status: ExitStatus) => `on ${kind} hook of job ${name} [${pid}] ended: ${describeExit(status)}`,
  overtime: (name: string, kind: string, pid: number, limitMs: number) =>
    `on ${kind} hook of job ${name} [${pid}] still running after ${Math.floor(limitMs / 1000)} sec, sending SIGKILL to its process group`,
};

/** SPEC §14 `metrics on` (src/control/metrics-server.ts, metrics.ts). */
export const metricsMsg = {
  serving: (address: string) => `serving metrics on ${address}`,
  cannotServe: (address: string, error: string) => `cannot serve metrics on ${address}: ${error} (metrics are off until the configuration changes)`,
  notLoopback: (address: string) =>
    `metrics on ${address}: /metrics, /healthz and /readyz are unauthenticated and this address is reachable from other machines; prefer http://127.0.0.1:PORT (or restrict it with a firewall or network policy)`,
  cannotLoad: (error: string) => `cannot load the metrics server: ${error}`,
};
