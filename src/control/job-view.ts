// What the control socket reads of a job: the supervisor's JobStatus (control/target.ts,
// re-exported from core) with the SPEC §10 details. They are optional here so that control
// compiles against a core that does not carry every one of them yet; absent, status shows "-".

import type { ExitStatus } from "../core/ports.ts";
import type { JobStatus } from "./target.ts";

/** One ended run: how (kind, code | signal), when (epoch ms) and after how long. */
export type ExitRecord = ExitStatus & { readonly atMs?: number; readonly ranMs?: number };

export interface JobDetails {
  /** One sentence saying why the job is in its state (INFO). */
  readonly reason: string;
  /** Epoch ms when the current (or last) run started. */
  readonly startedAt: number | null;
  readonly lastExit: ExitRecord | null;
  readonly lastStartError: { readonly step: string; readonly error: string; readonly atMs?: number } | null;
  /** Epoch ms of the scheduled restart (backoff). */
  readonly nextRestartAt: number | null;
  /** The last 10 exits, oldest first. */
  readonly exits: readonly ExitRecord[];
  readonly ready: boolean;
  /** sd_notify STATUS= text. */
  readonly statusText: string | null;
  readonly argv: readonly string[];
  readonly user: string | null;
  readonly dir: string;
  readonly out: string;
  readonly err: string;
  readonly source: { readonly file: string; readonly line: number };
  /** How long a start or restart of this job may take to show its outcome. */
  readonly deadlineMs: number;
}

export type JobView = JobStatus & Partial<JobDetails>;
