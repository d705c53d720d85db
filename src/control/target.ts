// What the control surfaces (UDP report/listen, the local control socket) need from the
// supervisor, and nothing more. The lead adapts core's Supervisor to this; control never
// reaches into supervision state, so every request goes through the one place that decides.

// JobState and JobStatus are owned by the core (src/core/status.ts); re-exported here so
// control code keeps importing them from its own boundary.
export type { ExitRecord, JobState, JobStatus, StartError } from "../core/status.ts";
export { JOB_STATES } from "../core/status.ts";
import type { JobStatus } from "../core/status.ts";
import type { JobSpec } from "../config/model.ts";

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
  /** The job definitions of the configuration applied now, for `pmtr -t --diff` (SPEC §15). */
  config?(): readonly JobSpec[];
}

/** One log line; level names follow syslog. */
export type ControlLog = (level: "err" | "warning" | "notice" | "info" | "debug", message: string) => void;
