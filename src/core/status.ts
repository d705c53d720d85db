// How a job looks from outside (SPEC §10): what `pmtr status`, `--json`, UDP reports, the
// job record and the control socket's outcome checks read. Built by the core's snapshot, one
// per job; every field is plain data (epoch milliseconds for wall-clock times), so it can be
// sent as JSON as it is. src/control/target.ts re-exports these names for control code.

import type { ExitStatus } from "./ports.ts";

/** SPEC §10: a job is always in exactly one of these. */
export type JobState =
  | "waiting" // not started yet: behind order/wait/after, or a depends file is missing
  | "starting" // being spawned, or running with its `ready` condition not met yet
  | "running" // process running (and ready, when it has `ready`)
  | "backoff" // exited or failed to start; the restart is scheduled
  | "stopping" // stop signal sent, waiting for the process group to be gone
  | "stopped" // stopped by the operator (`pmtr stop`, UDP disable) or by pmtr's shutdown
  | "done" // exited and not to be restarted (once, exit 33, on-failure after exit 0)
  | "failed" // gave up (`give up after`)
  | "disabled"; // `disable` in the file

export const JOB_STATES: readonly JobState[] = [
  "waiting", "starting", "running", "backoff", "stopping", "stopped", "done", "failed", "disabled",
];

/** One ended run: how (the ExitStatus fields kept as they were: kind, code | signal), when
 *  (epoch ms) and after how long. */
export type ExitRecord = ExitStatus & {
  readonly atMs: number;
  readonly ranMs: number;
};

/** Why the last start failed: the step (user, dir, out, exec, spawn, ready...) and the OS error. */
export interface StartError {
  readonly step: string;
  readonly error: string;
  /** Epoch ms. */
  readonly atMs: number;
}

export interface JobStatus {
  readonly name: string;
  readonly state: JobState;
  /** One human sentence saying why the job is in its state (the INFO column). */
  readonly reason: string;
  /** `e`/`d` in UDP reports: false when disabled in the file (and not started at run time)
   *  or stopped at run time. */
  readonly enabled: boolean;
  /** The process (and process-group) id while the job's main process exists, else null. */
  readonly pid: number | null;
  /** Milliseconds since the current (or, when not running, the last) run started; null if it never ran. */
  readonly sinceStartMs: number | null;
  /** Epoch ms when the current (or last) run started; null if it never ran. */
  readonly startedAt: number | null;
  /** Runs after the first one since pmtr started or the definition last changed. */
  readonly restarts: number;
  /** How the last run ended; null if none has ended yet. */
  readonly lastExit: ExitRecord | null;
  /** The last failed start, cleared by the next successful one. */
  readonly lastStartError: StartError | null;
  /** Epoch ms of the scheduled restart (state backoff), else null. */
  readonly nextRestartAt: number | null;
  /** The last 10 exits, oldest first. */
  readonly exits: readonly ExitRecord[];
  /** True while running and ready (a job without `ready` is ready once started). */
  readonly ready: boolean;
  /** sd_notify STATUS= text; null until readiness by notify exists. */
  readonly statusText: string | null;
  /** argv[0]: the absolute path of the program. */
  readonly cmd: string;
  readonly argv: readonly string[];
  readonly user: string | null;
  readonly dir: string;
  readonly out: string;
  readonly err: string;
  /** Where the job's block is (file, line); line 0 when unknown. */
  readonly source: { readonly file: string; readonly line: number };
  /** How long a client should wait for the outcome of a start or restart of this job: the
   *  job's stop timeout (the old run must go), its `ready … within`, and a margin. */
  readonly deadlineMs: number;
}
