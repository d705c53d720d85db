// What the supervision core asks of the world. src/os implements it for real; unit tests
// implement it with a fake process table and a manual clock, so the 10 s rules cost 0 ms.
// Nothing in src/core imports Bun, node:fs or process: every effect goes through here.

import type { JobSpec } from "../config/model.ts";
import type { JobEvent, Run } from "./job.ts";

export type LogLevel = "err" | "warning" | "notice" | "info" | "debug";

/** How a process ended, as waitpid reports it. */
export type ExitStatus =
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "signaled"; readonly signal: string };

export type StartOutcome =
  /** `startedAtMs` (the now() clock): when the process was created. A run's time counts from
   *  there, not from when the outcome is seen: starts made in one batch (200 jobs at start-up)
   *  are seen only after the whole batch, which made a 10.2 s run look like 9 s. */
  | { readonly ok: true; readonly pid: number; readonly startedAtMs?: number }
  /** `step` names what failed ("user", "dir", "out", "exec", ...), `error` the OS error. */
  | { readonly ok: false; readonly step: string; readonly error: string };

/** A `depends` file that exists but that pmtr refuses to use; see Ports.digest. */
export const REFUSED: unique symbol = Symbol("refused");
export type Digest = string | null | typeof REFUSED;

export interface Ports {
  /** Monotonic milliseconds. */
  now(): number;
  /** Start one run of `job`. Resolves once the program has been exec'd (or failed to be).
   *  The process leads its own session and process group (pgid == pid). */
  start(job: JobSpec): Promise<StartOutcome>;
  /** Wall-clock epoch milliseconds, for the times status shows. */
  wallClock(): number;
  /** "HH:MM" local time of an epoch time, for status sentences ("stopped by pmtr stop at
   *  14:02"); absent: Date's local time. */
  readonly localClock?: (epochMs: number) => string;
  /** Send `signal` (a name such as "SIGTERM", "SIGQUIT") to the process group `pgid`, followed
   *  by SIGCONT for anything but SIGKILL (a stopped process acts on a signal only once
   *  continued); a group that is already gone is not an error. */
  signalGroup(pgid: number, signal: string): void;
  /** True while any process of group `pgid` is still alive (the leader may have exited). */
  groupAlive(pgid: number): boolean;
  /** Content digest of a `depends` file; null when it does not exist or cannot be read;
   *  REFUSED when pmtr will not use it (unsafe ownership or mode, not a regular file), which
   *  the port logs itself, with the fix. Both keep the jobs that depend on it from starting. */
  digest(path: string): Digest;
  /** Ask to be woken with Supervisor.tick() at `atMs`; null cancels. One alarm at a time. */
  setAlarm(atMs: number | null): void;
  log(level: LogLevel, message: string): void;
  /** Called after any job changes state (for UDP reports, sd_notify STATUS, the control socket). */
  changed(): void;
  /** SPEC §14 hook events: each exit of a job, and its give-up. Optional: metrics and
   *  `on exit`/`on fail` plug in here; must not throw or block. */
  jobEvent?(event: JobEvent & { readonly spec: JobSpec }): void;
  /** The run state of `spec`'s job changed (SPEC §12: readiness probes start on `starting`,
   *  health checks on `running`, both end otherwise). Optional; must not throw or block. */
  runChanged?(spec: JobSpec, run: Run): void;
  /** A job's process (the group leader) was started as `pid` / has exited: the job record for
   *  crash recovery (os/self/generation.ts) follows these, one entry per event, instead of being
   *  rebuilt from every job (issue 10). Optional; must not throw or block. */
  leaderStarted?(name: string, pid: number): void;
  leaderExited?(pid: number): void;
}
