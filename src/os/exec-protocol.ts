// What pmtr and its exec helper say to each other. pmtr starts `pmtr --exec-helper` with the
// job's settings in one environment variable and a status channel on fd 3 (close-on-exec in
// the helper): a successful execve closes it with nothing written; a failed step writes
// "STEP<TAB>MESSAGE" and the helper exits. The settings travel in the environment, not argv,
// because /proc/PID/cmdline is readable by every local user and `env` values may be secrets;
// /proc/PID/environ is readable only by the owner.

import type { JobSpec } from "../config/model.ts";

export const HELPER_FLAG = "--exec-helper";
export const SETTINGS_VAR = "PMTR_EXEC_JOB";
export const STATUS_FD = 3;
/** The helper's exit code when a step fails (its message is on the status channel). */
export const HELPER_FAILED = 127;

/** The part of a JobSpec that decides how the job is started. */
export type ExecSettings = Pick<JobSpec, "name" | "argv" | "dir" | "in" | "out" | "err" | "user" | "env" | "nice" | "cpu" | "ulimits"> & {
  /** Which of fds 0, 1, 2 pmtr already set up (an fd it passed): not opened from the path. */
  readonly given: readonly [boolean, boolean, boolean];
};

export function encodeSettings(job: JobSpec, io: { stdin?: number; stdout?: number; stderr?: number } = {}): string {
  const { name, argv, dir, in: input, out, err, user, env, nice, cpu, ulimits } = job;
  const given = [io.stdin !== undefined, io.stdout !== undefined, io.stderr !== undefined] as const;
  return JSON.stringify({ name, argv, dir, in: input, out, err, user, env, nice, cpu, ulimits, given } satisfies ExecSettings);
}

export function decodeSettings(text: string): ExecSettings {
  return JSON.parse(text) as ExecSettings;
}

export interface StepFailure {
  readonly step: string;
  readonly error: string;
}

export const encodeFailure = (f: StepFailure): string => `${f.step}\t${f.error}`;

/** The failure a helper reported, or null when it wrote nothing (execve succeeded). */
export function decodeFailure(text: string): StepFailure | null {
  if (text === "") return null;
  const tab = text.indexOf("\t");
  return tab < 0 ? { step: "exec", error: text } : { step: text.slice(0, tab), error: text.slice(tab + 1) };
}

/** `path` as the job sees it: relative paths are relative to its dir. Not normalised, so that
 *  "../x" under a symlinked dir resolves as it does after chdir. */
export function shownPath(dir: string, path: string): string {
  return path.startsWith("/") ? path : dir.endsWith("/") ? `${dir}${path}` : `${dir}/${path}`;
}
