// The runner of the supervision core: it keeps one Job (job.ts) per configured job, routes
// each event of the world — a start resolved, a pid exited, the alarm rang, a file changed, an
// operator asked — to the pure state table (transition.ts), and carries out the effects that
// come back through Ports. It owns no timers, processes or files, so unit tests drive it with
// a fake process table and a manual clock (test/unit/core).
//
// Per event the work is proportional to what the event touches, not to the number of jobs
// (issue 10: restart latency at 1000 jobs): jobs are found by name and pid in maps, deadlines
// and waiting jobs are kept in their own small sets, start order is computed once per apply.

import type { Config, JobSpec } from "../config/model.ts";
import { appliesInPlace, changedFields, startOrder } from "../config/model.ts";
import { EMPTY_HISTORY, deadlineOf, hasProcess, type Blocker, type Effect, type Event, type Job, type JobEvent, type Run } from "./job.ts";
import { jobStatus } from "./job-status.ts";
import { msg } from "./messages.ts";
import { REFUSED, type Digest, type ExitStatus, type Ports, type StartOutcome } from "./ports.ts";
import type { JobStatus } from "./status.ts";
import { transition } from "./transition.ts";

export { EXIT_DO_NOT_RESTART } from "./policy.ts";
/** While a group outlives its leader, how often to look again for members that are not our
 *  children (they leave no exit event). */
const GROUP_POLL_MS = 50;
/** Starts in flight at once. Starts beyond it wait (state waiting) for one to resolve, so a
 *  slow start path (pmtr's exec helper, ~10 ms each) never holds a backlog of hundreds of
 *  starts that would go on after shutdown began (issue 12, fault 6: SIGTERM during the start
 *  of 500 jobs started 245 more). A start that resolves at once (the spawner's usual case)
 *  frees its place on the next microtask, so 1000 jobs start in ~32 batches, not one by one. */
export const MAX_STARTS_IN_FLIGHT = 32;

/** How `waiting for NAME ...` ends when NAME is in a state it leaves only by itself slowly or
 *  by an operator's hand. */
const STUCK: Partial<Record<string, string>> = {
  disabled: "is disabled",
  stopped: "was stopped: pmtr start it",
  failed: "has failed: pmtr start it to retry",
  done: "has exited and is not restarted",
  backoff: "is in backoff after a failure",
};
/** What setTimeout can hold; later deadlines (a bounce of weeks) are re-armed when it fires. */
const MAX_ALARM_MS = 2 ** 31 - 1;

interface Slot {
  spec: JobSpec;
  job: Job;
  /** Position in start order (SPEC §4 `order`, ties in file order). */
  index: number;
  /** Bumped for each start, so a start resolving late for a replaced run is recognised. */
  generation: number;
  /** The job's own word on itself (sd_notify STATUS=), for status; null when it said none. */
  statusText?: string | null;
}

export class Supervisor {
  /** The configured jobs, in file order. */
  private slots = new Map<string, Slot>();
  /** Removed from the configuration, their process still stopping. */
  private leaving = new Set<Slot>();
  private byPid = new Map<number, Slot>();
  /** Exits reported before the start that created the pid was seen to resolve. */
  private earlyExits = new Map<number, ExitStatus>();
  private waiting = new Set<Slot>();
  /** The waiting jobs in start order, rebuilt only when a job joins them. */
  private waitingSorted: Slot[] | null = null;
  private deadlines = new Map<Slot, number>();
  /** Stopping after their leader exited: what it left in its group is awaited. */
  private draining = new Set<Slot>();
  /** `wait` jobs in start order. */
  private waitJobs: Slot[] = [];
  /** For each job named in an `after` line, the jobs that name it. */
  private dependants = new Map<string, Slot[]>();
  private digests = new Map<string, Digest>();
  private live = 0;
  private spawning = 0;
  private running = 0;
  private gatesDirty = false;
  private shuttingDown = false;
  /** Removed from the configuration, waiting for the removed jobs that depend on them to go. */
  private removalPending = new Set<Slot>();
  /** At shutdown, jobs others depend on wait for those to be gone (SPEC §12). */
  private shutdownPending = new Set<Slot>();
  private shutdownDone: (() => void) | null = null;
  private alarmAt: number | null = null;

  constructor(private readonly ports: Ports) {}

  // ---- inputs -------------------------------------------------------------------------

  /** Applies a configuration (the first one, or a reload): SPEC §6. A job whose definition is
   *  unchanged is not touched — run-time overrides included (SPEC §10); a changed one gets
   *  definition-changed, in place when only policy-like fields changed (SPEC §11). */
  apply(config: Config): void {
    if (this.shuttingDown) return;
    const next = new Map<string, Slot>();
    const positions = new Map(startOrder(config.jobs).map((spec, i) => [spec, i]));
    const wanted = new Set(config.jobs.map((s) => s.name));

    for (const slot of [...this.slots.values()]) {
      if (wanted.has(slot.spec.name)) continue;
      this.slots.delete(slot.spec.name);
      this.leaving.add(slot);
      // Removed once no removed job that depends on it (`after`) has a process (SPEC §12).
      this.removalPending.add(slot);
    }

    for (const spec of config.jobs) {
      let slot = this.slots.get(spec.name);
      const index = positions.get(spec) ?? 0;
      if (slot === undefined) {
        // Put back while its old process is still stopping: the new run waits for it to go,
        // so the job never runs twice at once.
        const leaving = [...this.leaving].find((s) => s.spec.name === spec.name);
        if (leaving !== undefined) {
          this.leaving.delete(leaving);
          const old = leaving.spec;
          slot = leaving;
          slot.spec = spec;
          slot.index = index;
          next.set(spec.name, slot);
          if (this.removalPending.delete(slot)) {
            // Its removal had not begun: as if it had never left.
            const fields = changedFields(old, spec);
            if (fields.length > 0) this.dispatch(slot, { kind: "definition-changed", inPlace: appliesInPlace(old, spec), fields });
          } else this.dispatch(slot, { kind: "definition-changed", inPlace: false, fields: [] });
          continue;
        }
        slot = { spec, index, generation: 0, job: { run: spec.disabled ? { kind: "disabled" } : { kind: "waiting" }, override: null, history: EMPTY_HISTORY } };
        next.set(spec.name, slot);
        this.index(slot, { kind: "removed" });
        continue;
      }
      const old = slot.spec;
      slot.spec = spec;
      slot.index = index;
      next.set(spec.name, slot);
      const fields = changedFields(old, spec);
      if (fields.length > 0) {
        const inPlace = appliesInPlace(old, spec);
        this.dispatch(slot, { kind: "definition-changed", inPlace, fields });
        // Applied in place, the run goes on under the new definition: a changed `check` (or
        // one added or removed) takes effect now, not at the next start (SPEC §11, §12).
        if (inPlace && slot.job.run.kind !== "removed") this.ports.runChanged?.(slot.spec, slot.job.run);
      }
    }
    this.slots = next;

    const ordered = [...next.values()].sort((a, b) => a.index - b.index);
    this.waitJobs = ordered.filter((s) => s.spec.wait);
    this.dependants = new Map();
    for (const slot of ordered) {
      for (const after of slot.spec.after) {
        const list = this.dependants.get(after.name) ?? [];
        list.push(slot);
        this.dependants.set(after.name, list);
      }
    }
    this.watchDigests();
    this.gatesDirty = true;
    this.settle();
  }

  /** A job's process (the group leader) has exited. */
  exited(pid: number, status: ExitStatus): void {
    const slot = this.byPid.get(pid);
    if (!slot) {
      this.earlyExits.set(pid, status);
      return;
    }
    this.byPid.delete(pid);
    this.ports.leaderExited?.(pid);
    this.dispatch(slot, { kind: "exited", pid, status, groupAlive: this.ports.groupAlive(pid) });
    this.settle();
  }

  /** Orphans were reaped: group members may have gone, so a stop may be complete. */
  reaped(): void {
    this.checkGroups();
    this.settle();
  }

  /** The alarm rang (or the caller wants deadlines re-checked). */
  tick(): void {
    this.alarmAt = null; // the alarm that rang is spent
    const now = this.ports.now();
    for (const [slot, at] of [...this.deadlines]) if (at <= now) this.dispatch(slot, { kind: "timer" });
    this.checkGroups();
    this.settle();
  }

  /** A `depends` file may have changed: restart the jobs listing it if its content did. */
  dependsChanged(path: string): void {
    if (!this.digests.has(path)) return;
    const before = this.digests.get(path) ?? null;
    const after = this.ports.digest(path);
    if (before === after) return;
    this.digests.set(path, after);
    for (const slot of this.slots.values()) {
      if (!slot.spec.depends.includes(path) || !hasProcess(slot.job.run) || slot.job.run.kind === "stopping") continue;
      this.dispatch(slot, { kind: "start-requested", restart: true, operator: false, why: msg.dependsChanged(path, slot.spec.name) });
    }
    this.gatesDirty = true;
    this.settle();
  }

  /** UDP `enable`/`disable`: the same as `pmtr start`/`pmtr stop` (SPEC §8). Returns the names
   *  that are not jobs. */
  setEnabled(names: readonly string[], enabled: boolean): string[] {
    return this.each(names, enabled ? { kind: "start-requested", restart: false, operator: true, why: null } : { kind: "stop-requested", by: "udp disable" });
  }

  /** `pmtr start`: runs at once, skipping a backoff delay, even a job that is done, failed or
   *  disabled in the file; sticky until `pmtr stop` or a change to the job's definition. */
  start(names: readonly string[]): string[] {
    return this.each(names, { kind: "start-requested", restart: false, operator: true, why: null });
  }

  /** `pmtr stop`: stopped until `pmtr start` or a change to the job's definition. */
  stop(names: readonly string[]): string[] {
    return this.each(names, { kind: "stop-requested", by: "pmtr stop" });
  }

  /** `pmtr restart`: stop (if running) and start at once. */
  restart(names: readonly string[]): string[] {
    return this.each(names, { kind: "start-requested", restart: true, operator: true, why: null });
  }

  /** A readiness probe of `name`'s current run succeeded (SPEC §12). */
  ready(name: string): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    this.dispatch(slot, { kind: "ready" });
    this.settle();
  }

  /** A readiness probe of `name` failed this time; `reason` shows in status. */
  notReady(name: string, reason: string): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    this.dispatch(slot, { kind: "not-ready", reason });
    this.settle();
  }

  /** `check` failed `failures` times in a row on `name`'s run `pid` (SPEC §12): logged, and
   *  the job is restarted by its stop policy, without a backoff delay. A report about a run
   *  that has ended meanwhile is ignored. */
  unhealthy(name: string, pid: number, failures: number, error: string): void {
    const slot = this.slots.get(name);
    if (slot === undefined || slot.job.run.kind !== "running" || slot.job.run.pid !== pid) return;
    this.ports.log("warning", msg.unhealthy(name, failures, error));
    this.dispatch(slot, { kind: "start-requested", restart: true, operator: false, why: null });
    this.settle();
  }

  /** A `ready notify` job's STATUS= text (null clears it), shown by status. */
  statusText(name: string, text: string | null): void {
    const slot = this.slots.get(name);
    if (slot === undefined || slot.statusText === text) return;
    slot.statusText = text;
    this.ports.changed();
  }

  /** Stops every job (SPEC §5): independent jobs at once, a job others depend on (`after`)
   *  once they are gone; from here on nothing starts (issue 12, fault 6). Resolves once every
   *  process is gone. */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const slot of [...this.slots.values(), ...this.leaving]) this.shutdownPending.add(slot);
      this.releaseShutdown();
    }
    const done = new Promise<void>((resolve) => (this.shutdownDone = resolve));
    this.settle();
    return done;
  }

  // ---- outputs ------------------------------------------------------------------------

  /** Every job, in file order. O(jobs): for status requests and reports, not per event. */
  snapshot(): JobStatus[] {
    const now = this.ports.now();
    const wall = this.ports.wallClock();
    return [...this.slots.values()].map((slot) => jobStatus(slot.spec, slot.job, now, wall, slot.statusText ?? null, this.ports.localClock));
  }

  /** One job's status, or null. */
  statusOf(name: string): JobStatus | null {
    const slot = this.slots.get(name);
    return slot === undefined ? null : jobStatus(slot.spec, slot.job, this.ports.now(), this.ports.wallClock(), slot.statusText ?? null, this.ports.localClock);
  }

  /** The current definitions, in file order (for `pmtr -t --diff`: planReload(jobs(), new)). */
  jobs(): JobSpec[] {
    return [...this.slots.values()].map((s) => s.spec);
  }

  /** The pids of jobs' leaders pmtr spawned (the reaper leaves these alone): a view of the
   *  supervisor's own table, not a copy, so asking costs nothing per SIGCHLD (issue 10). */
  jobPids(): { has(pid: number): boolean } {
    return this.byPid;
  }

  /** Every `depends` path of the current jobs, to watch. */
  watchedPaths(): string[] {
    return [...this.digests.keys()];
  }

  /** True once nothing is being started and no job is held back by a `wait` job: the
   *  initial start is complete (sd_notify READY). */
  settled(): boolean {
    return this.spawning === 0 && this.gate() === null;
  }

  /** How many jobs are running (ready, when they have `ready`). */
  runningCount(): number {
    return this.running;
  }

  // ---- the runner -----------------------------------------------------------------------

  private dispatch(slot: Slot, event: Event): void {
    const before = slot.job.run;
    const step = transition(slot.job, event, this.ports.now(), slot.spec);
    slot.job = step.job;
    if (step.job.run !== before) this.index(slot, before);
    for (const effect of step.effects) this.execute(slot, effect);
  }

  /** Keeps the side tables (waiting, deadlines, draining, counts) in step with a new run state. */
  private index(slot: Slot, before: Run): void {
    const run = slot.job.run;
    if (run.kind === "waiting") {
      if (!this.waiting.has(slot)) {
        this.gatesDirty = true;
        this.waitingSorted = null;
      }
      this.waiting.add(slot);
    } else this.waiting.delete(slot);
    const at = deadlineOf(run);
    if (at === null) this.deadlines.delete(slot);
    else this.deadlines.set(slot, at);
    if (run.kind === "stopping" && run.leaderGone) this.draining.add(slot);
    else this.draining.delete(slot);
    this.live += Number(hasProcess(run)) - Number(hasProcess(before));
    this.spawning += Number(run.kind === "spawning") - Number(before.kind === "spawning");
    this.running += Number(run.kind === "running") - Number(before.kind === "running");
    this.ports.runChanged?.(slot.spec, run);
    if (run.kind === "removed") {
      this.leaving.delete(slot);
      if (this.slots.get(slot.spec.name) === slot) this.slots.delete(slot.spec.name);
      this.shutdownPending.delete(slot);
      this.removalPending.delete(slot);
    }
  }

  private execute(slot: Slot, effect: Effect): void {
    switch (effect.kind) {
      case "spawn":
        return this.launch(slot);
      case "signal":
        return this.ports.signalGroup(effect.pgid, effect.signal);
      case "log":
        return this.ports.log(effect.level, effect.message);
      case "notify-dependants":
        this.gatesDirty = true;
        return;
      case "job-event": {
        const event: JobEvent = { ...effect.event, name: slot.spec.name };
        this.ports.jobEvent?.({ ...event, spec: slot.spec });
        return;
      }
    }
  }

  private launch(slot: Slot): void {
    const generation = ++slot.generation;
    this.ports.start(slot.spec).then(
      (outcome) => this.startResolved(slot, generation, outcome),
      (e: unknown) => this.startResolved(slot, generation, { ok: false, step: "spawn", error: e instanceof Error ? e.message : String(e) }),
    );
  }

  private startResolved(slot: Slot, generation: number, outcome: StartOutcome): void {
    this.gatesDirty = true; // a start slot is free
    if (slot.generation !== generation || slot.job.run.kind !== "spawning") return;
    if (!outcome.ok) {
      this.dispatch(slot, { kind: "start-failed", step: outcome.step, error: outcome.error });
      this.settle();
      return;
    }
    const now = this.ports.now();
    this.byPid.set(outcome.pid, slot);
    this.ports.leaderStarted?.(slot.spec.name, outcome.pid);
    this.dispatch(slot, { kind: "started", pid: outcome.pid, startedAt: Math.min(outcome.startedAtMs ?? now, now) });
    const early = this.earlyExits.get(outcome.pid);
    if (early) {
      this.earlyExits.delete(outcome.pid);
      this.exited(outcome.pid, early);
      return;
    }
    this.settle();
  }

  private each(names: readonly string[], event: Event): string[] {
    const unknown: string[] = [];
    for (const name of names) {
      const slot = this.slots.get(name);
      if (!slot) unknown.push(name);
      else if (!this.shuttingDown) this.dispatch(slot, event);
    }
    this.settle();
    return unknown;
  }

  /** Groups whose leader has gone: an empty one completes its stop. */
  private checkGroups(): void {
    for (const slot of [...this.draining]) {
      const run = slot.job.run;
      if (run.kind === "stopping" && !this.ports.groupAlive(run.pid)) this.dispatch(slot, { kind: "group-empty" });
    }
  }

  /** After every input: start what may start, finish a shutdown, tell the world, set the alarm. */
  private settle(): void {
    this.releaseRemovals();
    if (this.shuttingDown) this.releaseShutdown();
    else this.releaseWaiting();
    if (this.shuttingDown && this.shutdownDone && this.live === 0 && this.draining.size === 0) {
      const done = this.shutdownDone;
      this.shutdownDone = null;
      this.arm(null);
      done();
      return;
    }
    this.ports.changed();
    this.arm(this.nextDeadline());
  }

  /** Looks at the gates of the waiting jobs (only those: O(waiting)), in start order. */
  private releaseWaiting(): void {
    while (this.gatesDirty) {
      this.gatesDirty = false;
      this.waitingSorted ??= [...this.waiting].sort((a, b) => a.index - b.index);
      const candidates = this.waitingSorted;
      const gate = this.gate();
      for (const slot of candidates) {
        if (slot.job.run.kind !== "waiting") continue;
        if (this.spawning >= MAX_STARTS_IN_FLIGHT) break; // the next resolved start looks again
        const blocker = this.blockerOf(slot, gate);
        const current = slot.job.run.blocker ?? null;
        if (blocker === null || blocker.text !== current?.text) this.dispatch(slot, { kind: "dependency-changed", blocker });
      }
      // Drop the jobs that have left `waiting` once they are most of the list, so the next
      // pass costs about what still waits (and a start of 1000 jobs does not copy it each time).
      if (this.waitingSorted === candidates && candidates.length > 2 * this.waiting.size) {
        this.waitingSorted = candidates.filter((s) => s.job.run.kind === "waiting");
      }
    }
  }

  /** Removal order (SPEC §12): a removed job is stopped once no removed job naming it in an
   *  `after` line has a process. O(removed jobs), and only while removals are pending. */
  private releaseRemovals(): void {
    let progressed = this.removalPending.size > 0;
    while (progressed) {
      progressed = false;
      for (const slot of [...this.removalPending]) {
        const name = slot.spec.name;
        const blocked = [...this.leaving].some((d) => d !== slot && hasProcess(d.job.run) && d.spec.after.some((a) => a.name === name));
        if (blocked && hasProcess(slot.job.run)) continue;
        this.removalPending.delete(slot);
        this.dispatch(slot, { kind: "removed" });
        progressed = true;
      }
    }
  }

  /** Shutdown order (SPEC §12): a job is stopped once no job that depends on it has a process. */
  private releaseShutdown(): void {
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (const slot of [...this.shutdownPending]) {
        const blocked = (this.dependants.get(slot.spec.name) ?? []).some((d) => d !== slot && hasProcess(d.job.run));
        if (blocked && hasProcess(slot.job.run)) continue;
        this.shutdownPending.delete(slot);
        this.dispatch(slot, { kind: "shutdown" });
        progressed = true;
      }
    }
  }

  /** Start-order position of the first `wait` job still holding later jobs back, or null. */
  private gate(): number | null {
    for (const slot of this.waitJobs) {
      const kind = slot.job.run.kind;
      if (slot.job.history.waitCleared || !this.wantsToRun(slot)) continue;
      if (kind === "done" || kind === "failed" || kind === "stopped" || kind === "disabled" || kind === "removed") continue;
      return slot.index;
    }
    return null;
  }

  private wantsToRun(slot: Slot): boolean {
    const o = slot.job.override;
    return o === "started" || (o !== "stopped" && !slot.spec.disabled);
  }

  /** What keeps `slot` from starting now (SPEC §4 wait and depends, §12 after), or null. */
  private blockerOf(slot: Slot, gate: number | null): Blocker | null {
    if (gate !== null && slot.index > gate) {
      const holder = this.waitJobs.find((s) => s.index === gate)!.spec.name;
      return { kind: "wait", what: holder, text: `waiting for ${holder} to exit (wait)` };
    }
    for (const path of slot.spec.depends) {
      const digest = this.digests.get(path) ?? null;
      if (digest === REFUSED) return { kind: "depends-refused", what: path, text: `waiting for ${path}, which pmtr refuses to use` };
      if (digest === null) return { kind: "depends-missing", what: path, text: `waiting for ${path}, which does not exist` };
    }
    for (const after of slot.spec.after) {
      const dep = this.slots.get(after.name);
      const run = dep?.job.run;
      const met =
        after.condition === "started" ? run?.kind === "running" || run?.kind === "starting"
        : after.condition === "ready" ? run?.kind === "running"
        : run?.kind === "done" && isSuccess(dep!.job);
      if (met) continue;
      const goal = after.condition === "started" ? "to start" : after.condition === "ready" ? "to be ready" : "to be done (exit 0)";
      // A dependency that will not get there by itself says so: the operator's next step.
      const stuck = run === undefined ? "" : STUCK[run.kind] ?? "";
      return { kind: "after", what: after.name, text: `waiting for ${after.name} ${goal}${stuck === "" ? "" : ` (${after.name} ${stuck})`}` };
    }
    return null;
  }

  /** Keeps the digest table to exactly the current jobs' `depends` paths. */
  private watchDigests(): void {
    const wanted = new Set([...this.slots.values()].flatMap((s) => s.spec.depends));
    for (const path of this.digests.keys()) if (!wanted.has(path)) this.digests.delete(path);
    for (const path of wanted) if (!this.digests.has(path)) this.digests.set(path, this.ports.digest(path));
  }

  private nextDeadline(): number | null {
    let next: number | null = null;
    for (const at of this.deadlines.values()) if (next === null || at < next) next = at;
    // Group members that are not our children leave no exit event: look again soon.
    if (this.draining.size > 0) {
      const poll = this.ports.now() + GROUP_POLL_MS;
      if (next === null || poll < next) next = poll;
    }
    return next;
  }

  private arm(at: number | null): void {
    if (at === this.alarmAt) return;
    this.alarmAt = at;
    this.ports.setAlarm(at === null ? null : Math.min(at, this.ports.now() + MAX_ALARM_MS));
  }
}

function isSuccess(job: Job): boolean {
  const exit = job.history.exits.at(-1);
  return exit !== undefined && exit.kind === "exited" && exit.code === 0;
}
