// What the control surfaces (UDP report/listen, the local control socket) need from the
// supervisor, and nothing more. The lead adapts core's Supervisor to this; control never
// reaches into supervision state, so every request goes through the one place that decides.

import type { ExitStatus } from "../core/ports.ts";

/** How a job looks from outside, as `pmtr status` names it. */
export type JobState =
  | "running"
  | "stopping" // SIGTERM sent, waiting for the group to go
  | "delayed" // exited too fast; restart waits out the anti-spin delay
  | "stopped" // stopped at run time (`pmtr stop`, UDP disable of a job that ran) or not started yet
  | "done" // exited 33 or `once`: stays down until its definition changes
  | "disabled" // `disable` in the file or UDP `disable`
  | "failed-to-start" // the last start failed (user, dir, exec, ...)
  | "waiting"; // behind a `wait` job, or a `depends` file is missing

export const JOB_STATES: readonly JobState[] = [
  "running", "stopping", "delayed", "stopped", "done", "disabled", "failed-to-start", "waiting",
];

export interface JobStatus {
  readonly name: string;
  readonly state: JobState;
  /** `e`/`d` in UDP reports: false when disabled in the file or at run time. */
  readonly enabled: boolean;
  /** The process (and process-group) id while a process exists, else null. */
  readonly pid: number | null;
  /** Milliseconds since the current (or, when not running, the last) run started; null if it never ran. */
  readonly sinceStartMs: number | null;
  /** Starts after the first one (restarts, bounces, depends changes). */
  readonly restarts: number;
  /** How the last run ended; null if none has ended yet. */
  readonly lastExit: ExitStatus | null;
  /** argv[0]: the absolute path of the program. */
  readonly cmd: string;
}

export type ReloadOutcome =
  | { readonly applied: true }
  /** The file had errors (`FILE:LINE: message` each) and nothing changed. */
  | { readonly applied: false; readonly messages: readonly string[] };

export interface ControlTarget {
  /** Every job, in file order. Called often (each UDP report, each status request): keep it cheap. */
  snapshot(): readonly JobStatus[];
  /** Runtime on/off switch (UDP enable/disable): an enabled job starts at once, a disabled one
   *  is stopped. Returns the names that are not jobs; those are not acted on. */
  setEnabled(names: readonly string[], enabled: boolean): string[];
  /** `pmtr start|stop|restart`: act at once (start skips the anti-spin delay); the override
   *  lasts until the file next changes. Return the names that are not jobs. The control server
   *  calls these only with known names and then watches snapshot() for the outcome. */
  start(names: readonly string[]): string[];
  stop(names: readonly string[]): string[];
  restart(names: readonly string[]): string[];
  /** Rescan the configuration file now (as SIGHUP does), resolving once it is applied or rejected. */
  reload(): Promise<ReloadOutcome>;
  /** Reopen pmtr's -l file and every rotated output (SPEC §13); one message per failure. */
  reopen?(): readonly string[];
}

/** One log line; level names follow syslog. */
export type ControlLog = (level: "err" | "warning" | "notice" | "info" | "debug", message: string) => void;
