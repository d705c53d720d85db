// The supervision of one job as a table, after s6-supervise's actions[state][event]: for every
// run state and every event, the named step taken — "nothing" included, so an impossible or
// stale pair is visible here instead of silently ignored in a branch. A step is pure: it maps
// the job (run state, override, history), the event, the time and the job's definition to the
// next job and the effects to carry out (spawn, signal, log, notify dependants, hook events).
// supervisor.ts is the runner: it routes events here and executes what comes back.

import type { JobSpec } from "../config/model.ts";
import type { Effect, Event, EventKind, Exit, History, Job, Rest, Run, RunKind, StopCause } from "./job.ts";
import { hasProcess } from "./job.ts";
import { msg } from "./messages.ts";
import { beginEscalation, isKillDue, killSent } from "./escalation.ts";
import { decideAfterRun } from "./policy.ts";
import type { ExitStatus } from "./ports.ts";

export interface Step {
  readonly job: Job;
  readonly effects: readonly Effect[];
}

/** How many exits status keeps per job (SPEC §10). */
export const EXITS_KEPT = 10;

interface Ctx<R extends Run = Run, E extends Event = Event> {
  readonly job: Job;
  readonly run: R;
  readonly event: E;
  readonly now: number;
  readonly spec: JobSpec;
}
type Handler = (c: Ctx<any, any>) => Step; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Next job and effects for `event` happening to `job` at `now`; `spec` is the job's current
 *  definition (for definition-changed: the new one). */
export function transition(job: Job, event: Event, now: number, spec: JobSpec): Step {
  const handler = TABLE[job.run.kind][event.kind];
  return handler({ job, run: job.run, event, now, spec });
}

// ---- the steps ----------------------------------------------------------------------------

const nothing: Handler = (c) => ({ job: c.job, effects: [] });

/** From a state without a process: run again as soon as the gates allow (pmtr start, UDP
 *  enable, the end of a backoff). A start request also ends the backoff series and a give-up. */
const wake: Handler = (c: Ctx<Run, Event>) => {
  // A `depends` change restarts only what runs; it never wakes a job that is down.
  if (c.event.kind === "start-requested" && !c.event.operator) return nothing(c);
  const requested = c.event.kind === "start-requested";
  const job: Job = {
    run: { kind: "waiting" },
    override: requested ? "started" : c.job.override,
    history: requested ? { ...c.job.history, quickRuns: 0, recentFailures: [] } : c.job.history,
  };
  return { job, effects: [notify] };
};

/** A request to start a job that has a process: it keeps running; only the override changes. */
const keepRunning: Handler = (c: Ctx<Run, Extract<Event, { kind: "start-requested" }>>) =>
  c.event.operator ? { job: { ...c.job, override: "started" }, effects: [] } : nothing(c);

/** pmtr stop / UDP disable of a job without a process. */
const holdStopped: Handler = (c: Ctx<Run, Extract<Event, { kind: "stop-requested" }>>) => ({
  job: { ...c.job, override: "stopped", run: stoppedRest(c.now, c.event.by) },
  effects: [notify],
});

/** A stop request for a job that is disabled already: it stays disabled, the override holds. */
const holdDisabled: Handler = (c) => ({ job: { ...c.job, override: "stopped" }, effects: [] });

const shutdownIdle: Handler = (c) => ({ job: { ...c.job, run: stoppedRest(c.now, "shutdown") }, effects: [notify] });

const forget: Handler = (c) => ({ job: { ...c.job, run: { kind: "removed" } }, effects: [notify] });

/** A definition change of a job without a process: it runs again with the new definition at
 *  once (no backoff delay), even if it had finished for good (done, failed). */
const redefineIdle: Handler = (c: Ctx<Run, Extract<Event, { kind: "definition-changed" }>>) => {
  const keepsBackoff = c.event.inPlace && c.run.kind === "backoff";
  const run: Run = c.spec.disabled ? { kind: "disabled" } : keepsBackoff ? c.run : { kind: "waiting" };
  return { job: { run, override: null, history: freshHistory(c.job.history, false) }, effects: [notify] };
};

// waiting ------------------------------------------------------------------------------------

const gateChecked: Handler = (c: Ctx<Extract<Run, { kind: "waiting" }>, Extract<Event, { kind: "dependency-changed" }>>) => {
  const blocker = c.event.blocker;
  if (blocker === null) {
    return {
      job: { ...c.job, run: { kind: "spawning", then: null }, history: { ...c.job.history, blockerLogged: null } },
      effects: [{ kind: "spawn" }, notify],
    };
  }
  const effects: Effect[] = [];
  let history = c.job.history;
  const isFile = blocker.kind === "depends-missing" || blocker.kind === "depends-refused";
  if (isFile && history.blockerLogged !== blocker.what) {
    const line = blocker.kind === "depends-refused" ? msg.dependsRefused : msg.dependsMissing;
    effects.push({ kind: "log", level: "notice", message: line(c.spec.name, blocker.what) });
    history = { ...history, blockerLogged: blocker.what };
  }
  return { job: { ...c.job, run: { kind: "waiting", blocker }, history }, effects };
};

// spawning -----------------------------------------------------------------------------------

const spawned: Handler = (c: Ctx<Extract<Run, { kind: "spawning" }>, Extract<Event, { kind: "started" }>>) => {
  const { pid, startedAt } = c.event;
  const history: History = { ...c.job.history, runs: c.job.history.runs + 1, lastStartedAt: startedAt, notReadyReason: null };
  const effects: Effect[] = [{ kind: "log", level: "info", message: msg.started(c.spec.name, pid) }];
  const job: Job = { ...c.job, history };
  if (c.run.then !== null) {
    const stop = stopProcess({ ...c, job }, pid, startedAt, c.run.then);
    return { job: stop.job, effects: [...effects, ...stop.effects] };
  }
  const run: Run = c.spec.ready !== null
    ? { kind: "starting", pid, startedAt, readyBy: startedAt + c.spec.ready.withinMs, probe: null }
    : { kind: "running", pid, startedAt, bounceAt: bounceAt(c.spec, startedAt) };
  return { job: { ...job, run }, effects: [...effects, notify] };
};

const spawnFailed: Handler = (c: Ctx<Extract<Run, { kind: "spawning" }>, Extract<Event, { kind: "start-failed" }>>) => {
  const { step, error } = c.event;
  const history: History = { ...c.job.history, lastStartError: { step, error, at: c.now }, waitCleared: true };
  const effects: Effect[] = [{ kind: "log", level: "err", message: msg.startFailed(c.spec.name, step, error) }];
  if (c.run.then !== null) return { job: { ...c.job, history, run: restOf(c.run.then, c.now) }, effects: [...effects, notify] };
  const decision = decideAfterRun(c.spec, history, { status: null, ranMs: 0 }, c.now);
  const fail = decision.rest.kind === "failed" ? [jobEvent("fail", null, 0, decision.history)] : [];
  return {
    job: { ...c.job, history: decision.history, run: restOf(decision.rest, c.now) },
    effects: [...effects, ...decision.effects, ...fail, notify],
  };
};

const spawningStop: Handler = (c: Ctx<Extract<Run, { kind: "spawning" }>, Extract<Event, { kind: "stop-requested" }>>) => ({
  job: { ...c.job, override: "stopped", run: { kind: "spawning", then: keepRemoval(c.run.then, stoppedRest(c.now, c.event.by)) } },
  effects: [],
});

const spawningStart: Handler = (c: Ctx<Extract<Run, { kind: "spawning" }>, Extract<Event, { kind: "start-requested" }>>) => {
  if (c.run.then?.kind === "removed" || !c.event.operator) return nothing(c);
  // A restart of a start in flight stops the new process once its pid is known and starts again.
  const then: Rest | null = c.event.restart ? { kind: "waiting" } : null;
  return { job: { ...c.job, override: "started", run: { kind: "spawning", then } }, effects: [] };
};

const spawningRedefined: Handler = (c: Ctx<Extract<Run, { kind: "spawning" }>, Extract<Event, { kind: "definition-changed" }>>) => {
  const then: Rest | null = c.spec.disabled ? { kind: "disabled" } : c.event.inPlace ? null : { kind: "waiting" };
  return { job: { run: { kind: "spawning", then }, override: null, history: freshHistory(c.job.history, c.event.inPlace) }, effects: [] };
};

const spawningRemoved: Handler = (c: Ctx<Extract<Run, { kind: "spawning" }>>) => ({
  job: { ...c.job, run: { kind: "spawning", then: { kind: "removed" } } },
  effects: [],
});

const spawningShutdown: Handler = (c: Ctx<Extract<Run, { kind: "spawning" }>>) => ({
  job: { ...c.job, run: { kind: "spawning", then: keepRemoval(c.run.then, stoppedRest(c.now, "shutdown")) } },
  effects: [],
});

// starting and running -----------------------------------------------------------------------

type Live = Extract<Run, { kind: "starting" | "running" }>;

/** The main process exited on its own: the policy decides what follows; what it left in its
 *  group is stopped first, and the next run starts only once the group is empty (issue 12,
 *  fault 5: two runs of a port-holding daemon must never overlap). */
const liveExited: Handler = (c: Ctx<Live, Extract<Event, { kind: "exited" }>>) => {
  const { status, groupAlive } = c.event;
  const ranMs = Math.max(0, c.now - c.run.startedAt);
  const exit: Exit = { ...status, at: c.now, ranMs };
  const recorded: History = { ...c.job.history, exits: [...c.job.history.exits, exit].slice(-EXITS_KEPT), waitCleared: true };
  const effects: Effect[] = [
    { kind: "log", level: "info", message: msg.exited(c.spec.name, c.run.pid, ranMs, status) },
    jobEvent("exit", status, ranMs, recorded),
  ];
  const decision = decideAfterRun(c.spec, recorded, { status, ranMs }, c.now);
  effects.push(...decision.effects);
  if (decision.rest.kind === "failed") effects.push(jobEvent("fail", status, ranMs, decision.history));
  const job: Job = { ...c.job, history: decision.history };
  if (!groupAlive) return { job: { ...job, run: restOf(decision.rest, c.now) }, effects: [...effects, notify] };
  const signal = c.spec.policy.stopSignal;
  const run: Run = {
    kind: "stopping", pid: c.run.pid, startedAt: c.run.startedAt, leaderGone: true, then: decision.rest,
    ...beginEscalation(signal, c.now, c.spec.policy.stopTimeoutMs),
  };
  return {
    job: { ...job, run },
    effects: [
      ...effects,
      { kind: "log", level: "notice", message: msg.leftovers(signal, c.spec.name, c.run.pid) },
      { kind: "signal", pgid: c.run.pid, signal },
      notify,
    ],
  };
};

const liveStop: Handler = (c: Ctx<Live, Extract<Event, { kind: "stop-requested" }>>) =>
  stopProcess({ ...c, job: { ...c.job, override: "stopped" } }, c.run.pid, c.run.startedAt, stoppedRest(c.now, c.event.by), c.event.by === "udp disable" ? msg.disabled(c.spec.name) : msg.stopping(c.spec.name, c.event.by));

const liveStart: Handler = (c: Ctx<Live, Extract<Event, { kind: "start-requested" }>>) => {
  if (!c.event.restart) return keepRunning(c);
  const job: Job = c.event.operator
    ? { ...c.job, override: "started", history: { ...c.job.history, quickRuns: 0, recentFailures: [] } }
    : c.job;
  return stopProcess({ ...c, job }, c.run.pid, c.run.startedAt, { kind: "waiting" }, c.event.why ?? msg.restarting(c.spec.name));
};

const liveRedefined: Handler = (c: Ctx<Live, Extract<Event, { kind: "definition-changed" }>>) => {
  if (c.event.inPlace) {
    const job: Job = { ...c.job, override: null, history: freshHistory(c.job.history, true) };
    return { job, effects: [{ kind: "log", level: "info", message: msg.changedInPlace(c.spec.name, c.event.fields) }] };
  }
  const job: Job = { ...c.job, override: null, history: freshHistory(c.job.history, false) };
  if (c.spec.disabled) return stopProcess({ ...c, job }, c.run.pid, c.run.startedAt, { kind: "disabled" }, msg.disabled(c.spec.name));
  return stopProcess({ ...c, job }, c.run.pid, c.run.startedAt, { kind: "waiting" }, msg.changed(c.spec.name));
};

const liveRemoved: Handler = (c: Ctx<Live>) => stopProcess(c, c.run.pid, c.run.startedAt, { kind: "removed" }, msg.removed(c.spec.name));

const liveShutdown: Handler = (c: Ctx<Live>) => stopProcess(c, c.run.pid, c.run.startedAt, stoppedRest(c.now, "shutdown"));

const becameReady: Handler = (c: Ctx<Extract<Run, { kind: "starting" }>>) => ({
  job: { ...c.job, run: { kind: "running", pid: c.run.pid, startedAt: c.run.startedAt, bounceAt: bounceAt(c.spec, c.run.startedAt) } },
  effects: [{ kind: "log", level: "info", message: msg.ready(c.spec.name, c.run.pid) }, notify],
});

const probeFailed: Handler = (c: Ctx<Extract<Run, { kind: "starting" }>, Extract<Event, { kind: "not-ready" }>>) => ({
  job: { ...c.job, history: { ...c.job.history, notReadyReason: c.event.reason } },
  effects: [],
});

/** `ready … within` ran out: logged, stopped, and counted as a failed start (SPEC §12). */
const readyTimedOut: Handler = (c: Ctx<Extract<Run, { kind: "starting" }>>) => {
  const withinMs = c.spec.ready?.withinMs ?? 0;
  const why = c.job.history.notReadyReason;
  const error = `not ready after ${Math.round(withinMs / 1000)} s${why === null ? "" : `: ${why}`}`;
  const history: History = { ...c.job.history, lastStartError: { step: "ready", error, at: c.now } };
  const decision = decideAfterRun(c.spec, history, { status: null, ranMs: 0 }, c.now);
  const stop = stopProcess({ ...c, job: { ...c.job, history: decision.history } }, c.run.pid, c.run.startedAt, decision.rest);
  const fail = decision.rest.kind === "failed" ? [jobEvent("fail", null, 0, decision.history)] : [];
  return {
    job: stop.job,
    // Said in the order it happens: not ready, the stop, then what follows it (the delay).
    effects: [{ kind: "log", level: "warning", message: msg.notReady(c.spec.name, withinMs, why) }, ...stop.effects, ...decision.effects, ...fail],
  };
};

const bounce: Handler = (c: Ctx<Extract<Run, { kind: "running" }>>) => {
  if (c.run.bounceAt === null || c.run.bounceAt > c.now) return nothing(c);
  const line = msg.bouncing(c.spec.name, c.run.pid, c.now - c.run.startedAt);
  return stopProcess(c, c.run.pid, c.run.startedAt, { kind: "waiting" }, line);
};

// backoff ------------------------------------------------------------------------------------

const backoffOver: Handler = (c: Ctx<Extract<Run, { kind: "backoff" }>>) => (c.run.restartAt <= c.now ? wake(c) : nothing(c));

// stopping -----------------------------------------------------------------------------------

type Stopping = Extract<Run, { kind: "stopping" }>;

const stoppingExited: Handler = (c: Ctx<Stopping, Extract<Event, { kind: "exited" }>>) => {
  const { status, groupAlive } = c.event;
  const ranMs = Math.max(0, c.now - c.run.startedAt);
  const exit: Exit = { ...status, at: c.now, ranMs };
  const history: History = { ...c.job.history, exits: [...c.job.history.exits, exit].slice(-EXITS_KEPT), waitCleared: true };
  const effects: Effect[] = [
    { kind: "log", level: "info", message: msg.exited(c.spec.name, c.run.pid, ranMs, status) },
    jobEvent("exit", status, ranMs, history),
  ];
  if (groupAlive) return { job: { ...c.job, history, run: { ...c.run, leaderGone: true } }, effects: [...effects, notify] };
  return { job: { ...c.job, history, run: restOf(c.run.then, c.now) }, effects: [...effects, notify] };
};

const groupGone: Handler = (c: Ctx<Stopping>) =>
  c.run.leaderGone ? { job: { ...c.job, run: restOf(c.run.then, c.now) }, effects: [notify] } : nothing(c);

const killTime: Handler = (c: Ctx<Stopping>) => {
  if (!isKillDue(c.run, c.now)) return nothing(c);
  const line = c.run.leaderGone ? msg.leftovers("SIGKILL", c.spec.name, c.run.pid) : msg.sending("SIGKILL", c.spec.name, c.run.pid);
  return {
    job: { ...c.job, run: killSent(c.run) },
    effects: [{ kind: "log", level: "warning", message: line }, { kind: "signal", pgid: c.run.pid, signal: "SIGKILL" }],
  };
};

const stoppingStop: Handler = (c: Ctx<Stopping, Extract<Event, { kind: "stop-requested" }>>) => ({
  job: { ...c.job, override: "stopped", run: { ...c.run, then: keepRemoval(c.run.then, stoppedRest(c.now, c.event.by)) } },
  effects: [],
});

const stoppingStart: Handler = (c: Ctx<Stopping, Extract<Event, { kind: "start-requested" }>>) => {
  if (c.run.then.kind === "removed" || !c.event.operator) return nothing(c);
  const history: History = { ...c.job.history, quickRuns: 0, recentFailures: [] };
  return { job: { override: "started", history, run: { ...c.run, then: { kind: "waiting" } } }, effects: [] };
};

const stoppingRedefined: Handler = (c: Ctx<Stopping, Extract<Event, { kind: "definition-changed" }>>) => {
  const settled = c.run.then.kind === "waiting" || c.run.then.kind === "backoff";
  const then: Rest = c.spec.disabled ? { kind: "disabled" } : c.event.inPlace && settled ? c.run.then : { kind: "waiting" };
  return { job: { run: { ...c.run, then }, override: null, history: freshHistory(c.job.history, false) }, effects: [] };
};

const stoppingRemoved: Handler = (c: Ctx<Stopping>) => ({ job: { ...c.job, run: { ...c.run, then: { kind: "removed" } } }, effects: [] });

const stoppingShutdown: Handler = (c: Ctx<Stopping>) => ({
  job: { ...c.job, run: { ...c.run, then: keepRemoval(c.run.then, stoppedRest(c.now, "shutdown")) } },
  effects: [],
});

// ---- the table: every (state, event) pair ---------------------------------------------------

const TABLE: { readonly [S in RunKind]: { readonly [E in EventKind]: Handler } } = {
  waiting: {
    started: nothing, "start-failed": nothing, exited: nothing, "group-empty": nothing, timer: nothing,
    "stop-requested": holdStopped, "start-requested": wake, "definition-changed": redefineIdle, removed: forget,
    "dependency-changed": gateChecked, ready: nothing, "not-ready": nothing, shutdown: shutdownIdle,
  },
  spawning: {
    started: spawned, "start-failed": spawnFailed, exited: nothing, "group-empty": nothing, timer: nothing,
    "stop-requested": spawningStop, "start-requested": spawningStart, "definition-changed": spawningRedefined,
    removed: spawningRemoved, "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: spawningShutdown,
  },
  starting: {
    started: nothing, "start-failed": nothing, exited: liveExited, "group-empty": nothing, timer: readyTimedOut,
    "stop-requested": liveStop, "start-requested": liveStart, "definition-changed": liveRedefined, removed: liveRemoved,
    "dependency-changed": nothing, ready: becameReady, "not-ready": probeFailed, shutdown: liveShutdown,
  },
  running: {
    started: nothing, "start-failed": nothing, exited: liveExited, "group-empty": nothing, timer: bounce,
    "stop-requested": liveStop, "start-requested": liveStart, "definition-changed": liveRedefined, removed: liveRemoved,
    "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: liveShutdown,
  },
  backoff: {
    started: nothing, "start-failed": nothing, exited: nothing, "group-empty": nothing, timer: backoffOver,
    "stop-requested": holdStopped, "start-requested": wake, "definition-changed": redefineIdle, removed: forget,
    "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: shutdownIdle,
  },
  stopping: {
    started: nothing, "start-failed": nothing, exited: stoppingExited, "group-empty": groupGone, timer: killTime,
    "stop-requested": stoppingStop, "start-requested": stoppingStart, "definition-changed": stoppingRedefined,
    removed: stoppingRemoved, "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: stoppingShutdown,
  },
  stopped: {
    started: nothing, "start-failed": nothing, exited: nothing, "group-empty": nothing, timer: nothing,
    "stop-requested": holdStopped, "start-requested": wake, "definition-changed": redefineIdle, removed: forget,
    "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: nothing,
  },
  done: {
    started: nothing, "start-failed": nothing, exited: nothing, "group-empty": nothing, timer: nothing,
    "stop-requested": holdStopped, "start-requested": wake, "definition-changed": redefineIdle, removed: forget,
    "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: nothing,
  },
  failed: {
    started: nothing, "start-failed": nothing, exited: nothing, "group-empty": nothing, timer: nothing,
    "stop-requested": holdStopped, "start-requested": wake, "definition-changed": redefineIdle, removed: forget,
    "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: nothing,
  },
  disabled: {
    started: nothing, "start-failed": nothing, exited: nothing, "group-empty": nothing, timer: nothing,
    "stop-requested": holdDisabled, "start-requested": wake, "definition-changed": redefineIdle, removed: forget,
    "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: nothing,
  },
  removed: {
    started: nothing, "start-failed": nothing, exited: nothing, "group-empty": nothing, timer: nothing,
    "stop-requested": nothing, "start-requested": nothing, "definition-changed": nothing, removed: nothing,
    "dependency-changed": nothing, ready: nothing, "not-ready": nothing, shutdown: nothing,
  },
};

// ---- helpers --------------------------------------------------------------------------------

const notify: Effect = { kind: "notify-dependants" };

/** The stop policy (SPEC §5, §11): the job's stop signal to the group now (SIGCONT follows,
 *  in the port), SIGKILL at its stop timeout; `then` once the group is gone. */
function stopProcess(c: Ctx, pid: number, startedAt: number, then: Rest, why?: string): Step {
  const signal = c.spec.policy.stopSignal;
  const run: Run = { kind: "stopping", pid, startedAt, leaderGone: false, then, ...beginEscalation(signal, c.now, c.spec.policy.stopTimeoutMs) };
  const effects: Effect[] = [];
  if (why !== undefined) effects.push({ kind: "log", level: "info", message: why });
  effects.push({ kind: "log", level: "info", message: msg.sending(signal, c.spec.name, pid) }, { kind: "signal", pgid: pid, signal }, notify);
  return { job: { ...c.job, run }, effects };
}

/** A rest as entered now: a backoff whose time has already come is over. */
function restOf(rest: Rest, now: number): Run {
  return rest.kind === "backoff" && rest.restartAt <= now ? { kind: "waiting" } : rest;
}

/** Removal wins over any later wish: the job is no longer in the configuration. */
function keepRemoval(current: Rest | null, wanted: Rest): Rest {
  return current?.kind === "removed" ? current : wanted;
}

function stoppedRest(atMs: number, by: StopCause): Rest {
  return { kind: "stopped", atMs, by };
}

function bounceAt(spec: JobSpec, startedAt: number): number | null {
  return spec.bounceSec === null ? null : startedAt + spec.bounceSec * 1000;
}

/** Counters restart with a new definition ("restarts since the definition changed"; a give-up
 *  is cleared); `running`: the current process carries on as the new definition's first run. */
function freshHistory(history: History, running: boolean): History {
  return { ...history, runs: running ? Math.min(history.runs, 1) : 0, quickRuns: 0, recentFailures: [], blockerLogged: null };
}

function jobEvent(kind: "exit" | "fail", status: ExitStatus | null, ranMs: number, history: History): Effect {
  const plain = status === null ? null : status.kind === "exited" ? { kind: status.kind, code: status.code } : { kind: status.kind, signal: status.signal };
  return { kind: "job-event", event: { kind, status: plain, ranMs, restarts: Math.max(0, history.runs - 1) } };
}

export { hasProcess };
