// The supervision state of one job, as data: a discriminated union of run states where each
// state carries exactly what it needs (pid, deadline, attempt), the job's sticky run-time
// override and its history; plus the events that move it and the effects a move asks for.
// transition.ts maps (Job, Event) to (Job, Effects); supervisor.ts runs the effects. All
// times here are on the monotonic now() clock of Ports; the snapshot converts to epoch ms.

import type { ExitStatus } from "./ports.ts";

/** What a job becomes once its process group is gone (or at once, when it has none). */
export type Rest =
  /** Start as soon as the gates allow; `blocker`: what the last look at the gates found. */
  | { readonly kind: "waiting"; readonly blocker?: Blocker }
  | { readonly kind: "backoff"; readonly restartAt: number; readonly attempt: number }
  | { readonly kind: "stopped"; readonly atMs: number; readonly by: StopCause }
  | { readonly kind: "done" }
  | { readonly kind: "failed" }
  | { readonly kind: "disabled" }
  | { readonly kind: "removed" }; // gone from the configuration: the runner forgets it

export type StopCause = "pmtr stop" | "udp disable" | "shutdown";

export type Run =
  | Rest
  /** Ports.start() in flight. `then`: a stop was asked for meanwhile; applied once the pid is
   *  known (or at once, if the start fails). */
  | { readonly kind: "spawning"; readonly then: Rest | null }
  /** Running, its `ready` condition not met yet (only jobs with `ready`). */
  | { readonly kind: "starting"; readonly pid: number; readonly startedAt: number; readonly readyBy: number; readonly probe: string | null }
  | { readonly kind: "running"; readonly pid: number; readonly startedAt: number; readonly bounceAt: number | null }
  /** The stop signal was sent to group `pid`; SIGKILL at `killAt` (null once sent). With
   *  `leaderGone`, the main process has exited and what it left in its group is awaited. */
  | {
      readonly kind: "stopping";
      readonly pid: number;
      readonly startedAt: number;
      readonly signal: string;
      readonly sentAt: number;
      readonly killAt: number | null;
      readonly leaderGone: boolean;
      readonly then: Rest;
    };

export type RunKind = Run["kind"];

/** A monotonic-clock exit, kept for status. */
export type Exit = ExitStatus & { readonly at: number; readonly ranMs: number };

export interface History {
  /** Runs that got a process since pmtr started or the definition last changed. */
  readonly runs: number;
  /** The last 10 exits, oldest first. */
  readonly exits: readonly Exit[];
  readonly lastStartError: { readonly step: string; readonly error: string; readonly at: number } | null;
  /** Start time of the current or last run. */
  readonly lastStartedAt: number | null;
  /** Consecutive quick runs (shorter than `stable`, failed starts included): the backoff's q. */
  readonly quickRuns: number;
  /** When recent exits and failed starts happened, for `give up after N in T`. */
  readonly recentFailures: readonly number[];
  /** A `wait` job releases later jobs once it has exited or failed to start (SPEC §4). */
  readonly waitCleared: boolean;
  /** The `depends` file last logged as missing, so the line is said once. */
  readonly blockerLogged: string | null;
  /** Latest reason a readiness probe gave for not being ready. */
  readonly notReadyReason: string | null;
}

export interface Job {
  readonly run: Run;
  /** Sticky run-time override (SPEC §10): `pmtr stop`/UDP disable ("stopped"), `pmtr start`/
   *  UDP enable ("started": runs even when `disable`d in the file). Ends with the next start
   *  or stop request, or a change to this job's own definition. */
  readonly override: "stopped" | "started" | null;
  readonly history: History;
}

/** What keeps a waiting job from starting; null when nothing does. */
export interface Blocker {
  readonly kind: "wait" | "after" | "depends-missing" | "depends-refused";
  /** The thing waited for: a job name or a path. */
  readonly what: string;
  /** The sentence for status, e.g. "waiting for db to be ready". */
  readonly text: string;
}

export type Event =
  | { readonly kind: "started"; readonly pid: number; readonly startedAt: number }
  | { readonly kind: "start-failed"; readonly step: string; readonly error: string }
  /** The main process exited; `groupAlive`: members of its process group remain. */
  | { readonly kind: "exited"; readonly pid: number; readonly status: ExitStatus; readonly groupAlive: boolean }
  /** The process group of a job whose main process has exited is now empty. */
  | { readonly kind: "group-empty" }
  /** The job's own deadline (restart, SIGKILL, bounce, ready within) has come. */
  | { readonly kind: "timer" }
  | { readonly kind: "stop-requested"; readonly by: "pmtr stop" | "udp disable" }
  /** `pmtr start`/UDP enable (restart false), `pmtr restart` or a `depends` change (restart
   *  true). `operator`: asked for at run time, so it sets the sticky override (a `depends`
   *  change does not); `why`: the line logged before the stop signal, if any. */
  | { readonly kind: "start-requested"; readonly restart: boolean; readonly operator: boolean; readonly why: string | null }
  /** The job's definition changed; the new spec is the `spec` argument of transition. */
  | { readonly kind: "definition-changed"; readonly inPlace: boolean; readonly fields: readonly string[] }
  | { readonly kind: "removed" }
  /** The start gates were evaluated for a waiting job: null means it may start now. */
  | { readonly kind: "dependency-changed"; readonly blocker: Blocker | null }
  | { readonly kind: "ready" }
  | { readonly kind: "not-ready"; readonly reason: string }
  | { readonly kind: "shutdown" };

export type EventKind = Event["kind"];

/** SPEC §14 hook events, for metrics and `on exit`/`on fail`. */
export interface JobEvent {
  readonly kind: "exit" | "fail";
  readonly name: string;
  readonly status: ExitStatus | null;
  readonly ranMs: number;
  readonly restarts: number;
}

export type Effect =
  | { readonly kind: "spawn" }
  /** Signal the process group `pgid` (the runner adds SIGCONT after anything but SIGKILL). */
  | { readonly kind: "signal"; readonly pgid: number; readonly signal: string }
  | { readonly kind: "log"; readonly level: "err" | "warning" | "notice" | "info" | "debug"; readonly message: string }
  /** This job's state changed in a way jobs gated on it (wait, after) may care about. */
  | { readonly kind: "notify-dependants" }
  | { readonly kind: "job-event"; readonly event: Omit<JobEvent, "name"> };

export const EMPTY_HISTORY: History = {
  runs: 0,
  exits: [],
  lastStartError: null,
  lastStartedAt: null,
  quickRuns: 0,
  recentFailures: [],
  waitCleared: false,
  blockerLogged: null,
  notReadyReason: null,
};

/** True while the job has a process group (a stop would have something to signal). */
export function hasProcess(run: Run): boolean {
  return run.kind === "spawning" || run.kind === "starting" || run.kind === "running" || run.kind === "stopping";
}

/** The job's own next deadline, or null. */
export function deadlineOf(run: Run): number | null {
  switch (run.kind) {
    case "backoff":
      return run.restartAt;
    case "starting":
      return run.readyBy;
    case "running":
      return run.bounceAt;
    case "stopping":
      return run.killAt;
    default:
      return null;
  }
}
