// The supervision core: SPEC §4 (restart rules), §5 (stopping) and §6 (applying a new
// configuration), as one state machine per job driven by events — a start resolved, a pid
// exited, the alarm rang, a file changed, an operator asked. It owns no timers, processes or
// files: every effect goes through Ports, so unit tests drive it with a fake process table
// and a manual clock (test/unit/core), and the 10 s rules cost no wall time there.
//
// One alarm serves every deadline (restart delays, SIGKILL escalation, bounces); after each
// event the earliest pending deadline is asked for, and while nothing is due none is set.

import type { Config, JobSpec } from "../config/model.ts";
import { sameJob, startOrder } from "../config/model.ts";
import type { JobState, JobStatus } from "../control/target.ts";
import { msg } from "./messages.ts";
import { REFUSED, type Digest, type ExitStatus, type Ports, type StartOutcome } from "./ports.ts";

/** A job that ran less than this is restarted only this long after its exit (SPEC §4). */
export const RESTART_DELAY_MS = 10_000;
/** SIGTERM, then SIGKILL this much later if anything of the group is still alive (SPEC §5). */
export const KILL_GRACE_MS = 10_000;
/** Exit status meaning "do not restart me". */
export const EXIT_DO_NOT_RESTART = 33;
/** While stopping, how often to look again for group members that are not our children. */
const GROUP_POLL_MS = 50;
/** What setTimeout can hold; later deadlines (a bounce of weeks) are re-armed when it fires. */
const MAX_ALARM_MS = 2 ** 31 - 1;

type Phase =
  | "idle" // not running; starts when allowed (start order, `wait`, `depends`)
  | "starting" // ports.start() in flight
  | "running"
  | "stopping" // SIGTERM sent; waiting for the leader to exit
  | "delayed" // anti-spin delay after a quick exit or a failed start
  | "done" // exit 33 or `once`
  | "held"; // stopped on purpose: disabled (file or run time) or `pmtr stop`

/** What to do once a stop completes. */
type AfterStop = "restart" | "hold" | "remove";

interface Slot {
  spec: JobSpec;
  phase: Phase;
  pid: number | null;
  /** When the current (or last) run started; null before the first run. */
  startedAt: number | null;
  starts: number;
  lastExit: ExitStatus | null;
  /** The last start failed (shown as failed-to-start while the delay runs). */
  startFailed: boolean;
  /** Restart-delay deadline (phase delayed). */
  delayUntil: number | null;
  /** SIGKILL deadline (phase stopping). */
  killAt: number | null;
  /** Bounce deadline (phase running, `bounce every`). */
  bounceAt: number | null;
  after: AfterStop | null;
  /** Run-time switches from UDP enable/disable and pmtr start/stop, until the file changes. */
  override: "enabled" | "disabled" | "stopped" | null;
  /** A `wait` job lets later jobs start once it has exited (or failed to start) once. */
  waitCleared: boolean;
  /** The missing `depends` file already logged, so the line is not repeated. */
  missingLogged: string | null;
  /** Bumped for each start, so a start resolving late for a replaced slot is recognised. */
  generation: number;
  removed: boolean;
}

/** Processes a job left in its group after its leader exited: SIGTERMed, SIGKILLed later. */
interface Leftover {
  name: string;
  pgid: number;
  killAt: number;
}

export class Supervisor {
  /** In file order; slots being removed stay until their process is gone. */
  private slots: Slot[] = [];
  private byName = new Map<string, Slot>();
  private byPid = new Map<number, Slot>();
  /** Exits reported before the start that created the pid was seen to resolve. */
  private earlyExits = new Map<number, ExitStatus>();
  private leftovers: Leftover[] = [];
  private digests = new Map<string, Digest>();
  private shuttingDown = false;
  private shutdownDone: (() => void) | null = null;
  private alarmAt: number | null = null;

  constructor(private readonly ports: Ports) {}

  // ---- inputs -------------------------------------------------------------------------

  /** Applies a configuration (the first one, or a reload): SPEC §6. Jobs whose definition
   *  is unchanged are not touched; run-time overrides end here (the file regains precedence). */
  apply(config: Config): void {
    if (this.shuttingDown) return;
    const next = new Map(config.jobs.map((spec) => [spec.name, spec]));
    const ordered: Slot[] = [];

    for (const slot of this.slots) {
      if (slot.removed) continue;
      if (!next.has(slot.spec.name)) {
        slot.removed = true;
        this.byName.delete(slot.spec.name);
        if (this.hasProcess(slot)) {
          this.ports.log("info", msg.removed(slot.spec.name));
          this.terminate(slot, "remove");
        } else this.forget(slot);
      }
    }

    for (const spec of config.jobs) {
      const slot = this.byName.get(spec.name);
      if (!slot) {
        // Put back while its old process is still stopping: the new run waits for it to go,
        // so the job never runs twice at once.
        const leaving = this.slots.find((s) => s.removed && s.spec.name === spec.name && this.hasProcess(s));
        if (leaving) {
          leaving.removed = false;
          leaving.spec = spec;
          leaving.override = null;
          leaving.missingLogged = null;
          leaving.after = spec.disabled ? "hold" : "restart";
          this.byName.set(spec.name, leaving);
          ordered.push(leaving);
        } else ordered.push(this.newSlot(spec));
        continue;
      }
      ordered.push(slot);
      const hadOverride = slot.override !== null;
      slot.override = null;
      if (sameJob(slot.spec, spec)) {
        if (hadOverride) this.reconcileOverride(slot);
        continue;
      }
      // Changed: the new definition runs at once, without the anti-spin delay, even if the
      // old one had finished for good (exit 33, once).
      slot.spec = spec;
      slot.missingLogged = null;
      if (spec.disabled) {
        if (this.hasProcess(slot)) {
          this.ports.log("info", msg.disabled(spec.name));
          this.terminate(slot, "hold");
        } else this.hold(slot);
      } else if (this.hasProcess(slot)) {
        this.ports.log("info", msg.changed(spec.name));
        this.terminate(slot, "restart");
      } else {
        this.makeStartable(slot);
      }
    }

    // Removed slots still stopping keep their place at the end until they are gone.
    this.slots = [...ordered, ...this.slots.filter((s) => s.removed)];
    this.watchDigests();
    this.converge();
  }

  /** A job's process (the group leader) has exited. */
  exited(pid: number, status: ExitStatus): void {
    const slot = this.byPid.get(pid);
    if (!slot) {
      this.earlyExits.set(pid, status);
      return;
    }
    this.byPid.delete(pid);
    const now = this.ports.now();
    const ranMs = now - (slot.startedAt ?? now);
    slot.pid = null;
    slot.lastExit = status;
    slot.bounceAt = null;
    slot.waitCleared = true;
    this.ports.log("info", msg.exited(slot.spec.name, pid, ranMs, status));
    const wasStopping = slot.phase === "stopping";
    this.collectLeftovers(slot, pid, wasStopping ? (slot.killAt ?? now + KILL_GRACE_MS) : now + KILL_GRACE_MS);
    slot.killAt = null;
    slot.phase = "idle";

    if (wasStopping) {
      const after = slot.after;
      slot.after = null;
      if (after === "remove" || slot.removed) this.forget(slot);
      else if (after === "hold" || this.shuttingDown) this.hold(slot);
      else this.makeStartable(slot);
    } else if (this.shuttingDown) {
      this.hold(slot);
    } else if (status.kind === "exited" && status.code === EXIT_DO_NOT_RESTART) {
      this.ports.log("info", msg.exit33(slot.spec.name));
      slot.phase = "done";
    } else if (slot.spec.once) {
      this.ports.log("info", msg.once(slot.spec.name));
      slot.phase = "done";
    } else if (ranMs < RESTART_DELAY_MS) {
      this.ports.log("notice", msg.tooFast(slot.spec.name));
      slot.phase = "delayed";
      slot.delayUntil = now + RESTART_DELAY_MS;
    } else {
      slot.phase = "idle";
    }
    this.converge();
  }

  /** Orphans were reaped: group members may have gone, so a stop or shutdown may be complete. */
  reaped(): void {
    this.converge();
  }

  /** The alarm rang (or the caller wants deadlines re-checked). */
  tick(): void {
    this.alarmAt = null; // the alarm that rang is spent
    const now = this.ports.now();
    for (const slot of this.slots) {
      if (slot.phase === "delayed" && slot.delayUntil !== null && slot.delayUntil <= now) {
        slot.delayUntil = null;
        slot.phase = "idle";
      } else if (slot.phase === "stopping" && slot.killAt !== null && slot.killAt <= now && slot.pid !== null) {
        slot.killAt = null;
        this.ports.log("warning", msg.sending("SIGKILL", slot.spec.name, slot.pid));
        this.ports.signalGroup(slot.pid, "SIGKILL");
      } else if (slot.phase === "running" && slot.bounceAt !== null && slot.bounceAt <= now && slot.pid !== null) {
        this.ports.log("info", msg.bouncing(slot.spec.name, slot.pid, now - (slot.startedAt ?? now)));
        this.terminate(slot, "restart");
      }
    }
    for (const left of this.leftovers) {
      if (left.killAt <= now && this.ports.groupAlive(left.pgid)) {
        this.ports.log("warning", msg.sending("SIGKILL", left.name, left.pgid));
        this.ports.signalGroup(left.pgid, "SIGKILL");
        left.killAt = Number.POSITIVE_INFINITY;
      }
    }
    this.converge();
  }

  /** A `depends` file may have changed: restart the jobs listing it if its content did. */
  dependsChanged(path: string): void {
    if (!this.digests.has(path)) return;
    const before = this.digests.get(path) ?? null;
    const after = this.ports.digest(path);
    if (before === after) return;
    this.digests.set(path, after);
    for (const slot of this.slots) {
      if (slot.removed || !slot.spec.depends.includes(path)) continue;
      if (this.hasProcess(slot)) {
        this.ports.log("info", msg.dependsChanged(path, slot.spec.name));
        this.terminate(slot, "restart");
      }
    }
    this.converge();
  }

  /** UDP `enable`/`disable`: returns the names that are not jobs. */
  setEnabled(names: readonly string[], enabled: boolean): string[] {
    return this.each(names, (slot) => {
      if (enabled) {
        slot.override = "enabled";
        this.makeStartable(slot);
      } else {
        slot.override = "disabled";
        if (this.hasProcess(slot)) {
          this.ports.log("info", msg.disabled(slot.spec.name));
          this.terminate(slot, "hold");
        } else this.hold(slot);
      }
    });
  }

  /** `pmtr start`: runs at once, skipping the anti-spin delay, even a job that is done or
   *  disabled in the file; the override lasts until the file changes. */
  start(names: readonly string[]): string[] {
    return this.each(names, (slot) => {
      if (slot.phase === "stopping") slot.after = "restart";
      slot.override = "enabled";
      if (!this.hasProcess(slot)) this.makeStartable(slot);
    });
  }

  /** `pmtr stop`: stopped until started again or the file changes. */
  stop(names: readonly string[]): string[] {
    return this.each(names, (slot) => {
      slot.override = "stopped";
      if (this.hasProcess(slot)) this.terminate(slot, "hold");
      else this.hold(slot);
    });
  }

  /** `pmtr restart`: stop (if running) and start at once. */
  restart(names: readonly string[]): string[] {
    return this.each(names, (slot) => {
      slot.override = "enabled";
      if (this.hasProcess(slot)) this.terminate(slot, "restart");
      else this.makeStartable(slot);
    });
  }

  /** Stops every job concurrently (SPEC §5); resolves once every process is gone. */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const slot of this.slots) {
        if (slot.phase === "running") this.terminate(slot, "hold");
        else if (slot.phase !== "starting" && slot.phase !== "stopping") this.hold(slot);
      }
    }
    const done = new Promise<void>((resolve) => (this.shutdownDone = resolve));
    this.converge();
    return done;
  }

  // ---- outputs ------------------------------------------------------------------------

  snapshot(): JobStatus[] {
    const now = this.ports.now();
    const order = this.startOrderOf();
    const gate = this.gateIndex(order);
    return this.slots
      .filter((s) => !s.removed)
      .map((slot) => ({
        name: slot.spec.name,
        state: this.stateOf(slot, gate !== null && (order.get(slot) ?? 0) > gate),
        enabled: this.enabled(slot),
        pid: slot.pid,
        sinceStartMs: slot.startedAt === null ? null : now - slot.startedAt,
        restarts: Math.max(0, slot.starts - 1),
        lastExit: slot.lastExit,
        cmd: slot.spec.argv[0] ?? "",
      }));
  }

  /** The pids of jobs' leaders pmtr spawned (the reaper must leave these to Bun). */
  jobPids(): ReadonlySet<number> {
    return new Set(this.byPid.keys());
  }

  /** Every `depends` path of the current jobs, to watch. */
  watchedPaths(): string[] {
    return [...this.digests.keys()];
  }

  /** True once nothing is being started and no job is held back by a `wait` job: the
   *  initial start is complete (sd_notify READY). */
  settled(): boolean {
    return !this.slots.some((s) => s.phase === "starting") && this.gateIndex(this.startOrderOf()) === null;
  }

  /** How many jobs have a running process. */
  runningCount(): number {
    return this.slots.filter((s) => s.phase === "running").length;
  }

  // ---- internals ----------------------------------------------------------------------

  private newSlot(spec: JobSpec): Slot {
    const slot: Slot = {
      spec,
      phase: spec.disabled ? "held" : "idle",
      pid: null,
      startedAt: null,
      starts: 0,
      lastExit: null,
      startFailed: false,
      delayUntil: null,
      killAt: null,
      bounceAt: null,
      after: null,
      override: null,
      waitCleared: false,
      missingLogged: null,
      generation: 0,
      removed: false,
    };
    this.byName.set(spec.name, slot);
    return slot;
  }

  private enabled(slot: Slot): boolean {
    return slot.override === "enabled" || (slot.override !== "disabled" && !slot.spec.disabled);
  }

  private wantsToRun(slot: Slot): boolean {
    return !slot.removed && this.enabled(slot) && slot.override !== "stopped";
  }

  private hasProcess(slot: Slot): boolean {
    return slot.phase === "running" || slot.phase === "stopping" || slot.phase === "starting";
  }

  /** After an override or file change that left the definition alone: match the phase to it. */
  private reconcileOverride(slot: Slot): void {
    if (this.wantsToRun(slot)) {
      if (slot.phase === "held") this.makeStartable(slot);
    } else if (this.hasProcess(slot)) {
      this.ports.log("info", msg.disabled(slot.spec.name));
      this.terminate(slot, "hold");
    } else this.hold(slot);
  }

  /** Ready to start at once (no delay), unless disabled; converge() does the start. */
  private makeStartable(slot: Slot): void {
    if (this.hasProcess(slot)) return;
    slot.delayUntil = null;
    slot.phase = this.wantsToRun(slot) ? "idle" : "held";
  }

  private hold(slot: Slot): void {
    if (this.hasProcess(slot)) return;
    slot.delayUntil = null;
    slot.phase = "held";
  }

  private forget(slot: Slot): void {
    slot.removed = true;
    slot.phase = "held";
    this.slots = this.slots.filter((s) => s !== slot);
    if (this.byName.get(slot.spec.name) === slot) this.byName.delete(slot.spec.name);
  }

  /** SIGTERM to the group now, SIGKILL at the deadline; `after` says what happens next. A
   *  start still in flight is stopped as soon as its pid is known. */
  private terminate(slot: Slot, after: AfterStop): void {
    if (slot.phase === "starting") {
      slot.after = after;
      return;
    }
    if (slot.phase === "stopping") {
      // Already going; the latest wish decides what happens next (remove beats the rest).
      if (slot.after !== "remove") slot.after = after;
      return;
    }
    if (slot.phase !== "running" || slot.pid === null) return;
    slot.phase = "stopping";
    slot.after = after;
    slot.bounceAt = null;
    slot.killAt = this.ports.now() + KILL_GRACE_MS;
    this.ports.log("info", msg.sending("SIGTERM", slot.spec.name, slot.pid));
    this.ports.signalGroup(slot.pid, "SIGTERM");
  }

  private collectLeftovers(slot: Slot, pgid: number, killAt: number): void {
    if (!this.ports.groupAlive(pgid)) return;
    // Members of a group whose leader was just signalled may simply not be reaped yet:
    // SIGTERM again is harmless to them, and anything really left gets SIGKILL on time.
    this.ports.log("debug", msg.leftovers("SIGTERM", slot.spec.name, pgid));
    this.ports.signalGroup(pgid, "SIGTERM");
    this.leftovers.push({ name: slot.spec.name, pgid, killAt });
  }

  private launch(slot: Slot): void {
    const spec = slot.spec;
    const generation = ++slot.generation;
    slot.phase = "starting";
    slot.startFailed = false;
    slot.missingLogged = null;
    this.ports.start(spec).then(
      (outcome) => this.started(slot, generation, outcome),
      (e: unknown) => this.started(slot, generation, { ok: false, step: "spawn", error: e instanceof Error ? e.message : String(e) }),
    );
  }

  private started(slot: Slot, generation: number, outcome: StartOutcome): void {
    if (slot.generation !== generation || slot.phase !== "starting") return;
    const now = this.ports.now();
    slot.waitCleared ||= !outcome.ok;
    if (!outcome.ok) {
      slot.phase = "idle";
      slot.startFailed = true;
      this.ports.log("err", msg.startFailed(slot.spec.name, outcome.step, outcome.error));
      const after = slot.after;
      slot.after = null;
      if (slot.removed || after === "remove") this.forget(slot);
      else if (after === "hold" || this.shuttingDown) this.hold(slot);
      else if (after === "restart") slot.phase = "idle";
      else {
        // A failed start counts as an exit after 0 s: the anti-spin delay applies.
        this.ports.log("notice", msg.tooFast(slot.spec.name));
        slot.phase = "delayed";
        slot.delayUntil = now + RESTART_DELAY_MS;
      }
      this.converge();
      return;
    }
    slot.pid = outcome.pid;
    slot.phase = "running";
    slot.startedAt = Math.min(outcome.startedAtMs ?? now, now);
    slot.starts++;
    slot.bounceAt = slot.spec.bounceSec === null ? null : slot.startedAt + slot.spec.bounceSec * 1000;
    this.byPid.set(outcome.pid, slot);
    this.ports.log("info", msg.started(slot.spec.name, outcome.pid));
    const after = slot.after;
    slot.after = null;
    if (this.shuttingDown) this.terminate(slot, "hold");
    else if (slot.removed) this.terminate(slot, "remove");
    else if (after !== null) this.terminate(slot, after);
    const early = this.earlyExits.get(outcome.pid);
    if (early) {
      this.earlyExits.delete(outcome.pid);
      this.exited(outcome.pid, early);
      return;
    }
    this.converge();
  }

  /** Start order position of each live slot. */
  private startOrderOf(): Map<Slot, number> {
    const live = this.slots.filter((s) => !s.removed);
    const order = startOrder(live.map((s) => s.spec));
    const bySpec = new Map(live.map((s) => [s.spec, s]));
    return new Map(order.map((spec, i) => [bySpec.get(spec)!, i]));
  }

  /** Position (in start order) of the first `wait` job that still holds later jobs, or null. */
  private gateIndex(order: Map<Slot, number>): number | null {
    let gate: number | null = null;
    for (const [slot, i] of order) {
      if (!slot.spec.wait || slot.waitCleared || !this.wantsToRun(slot) || slot.phase === "done") continue;
      if (gate === null || i < gate) gate = i;
    }
    return gate;
  }

  private stateOf(slot: Slot, behindWait: boolean): JobState {
    switch (slot.phase) {
      case "running":
        return "running";
      case "stopping":
        return "stopping";
      case "starting":
        return "waiting";
      case "delayed":
        return slot.startFailed ? "failed-to-start" : "delayed";
      case "done":
        return "done";
      case "held":
        return this.enabled(slot) ? "stopped" : "disabled";
      case "idle":
        return behindWait || this.missingDepends(slot) !== null ? "waiting" : slot.startFailed ? "failed-to-start" : "stopped";
    }
  }

  private missingDepends(slot: Slot): string | null {
    for (const path of slot.spec.depends) {
      const digest = this.digests.get(path) ?? null;
      if (digest === null || digest === REFUSED) return path;
    }
    return null;
  }

  /** Keeps the digest table to exactly the current jobs' `depends` paths. */
  private watchDigests(): void {
    const wanted = new Set(this.slots.filter((s) => !s.removed).flatMap((s) => s.spec.depends));
    for (const path of this.digests.keys()) if (!wanted.has(path)) this.digests.delete(path);
    for (const path of wanted) if (!this.digests.has(path)) this.digests.set(path, this.ports.digest(path));
  }

  private each(names: readonly string[], act: (slot: Slot) => void): string[] {
    const unknown: string[] = [];
    for (const name of names) {
      const slot = this.byName.get(name);
      if (!slot || slot.removed) unknown.push(name);
      else if (!this.shuttingDown) act(slot);
    }
    this.converge();
    return unknown;
  }

  /** Starts what may start now, finishes a shutdown that is complete, sets the alarm. */
  private converge(): void {
    if (!this.shuttingDown) {
      const order = this.startOrderOf();
      const gate = this.gateIndex(order);
      const ordered = [...order.keys()];
      for (const slot of ordered) {
        if (gate !== null && order.get(slot)! > gate) break;
        if (slot.phase !== "idle" || !this.wantsToRun(slot)) continue;
        const missing = this.missingDepends(slot);
        if (missing !== null) {
          if (slot.missingLogged !== missing) {
            const why = this.digests.get(missing) === REFUSED ? msg.dependsRefused : msg.dependsMissing;
            this.ports.log("notice", why(slot.spec.name, missing));
          }
          slot.missingLogged = missing;
          continue;
        }
        this.launch(slot);
      }
    }
    this.leftovers = this.leftovers.filter((l) => this.ports.groupAlive(l.pgid));
    if (this.shuttingDown && this.shutdownDone && this.allGone()) {
      const done = this.shutdownDone;
      this.shutdownDone = null;
      this.arm(null);
      done();
      return;
    }
    this.ports.changed();
    this.arm(this.nextDeadline());
  }

  private allGone(): boolean {
    return !this.slots.some((s) => this.hasProcess(s)) && this.leftovers.length === 0;
  }

  private nextDeadline(): number | null {
    let next: number | null = null;
    const consider = (at: number | null) => {
      if (at !== null && Number.isFinite(at) && (next === null || at < next)) next = at;
    };
    for (const slot of this.slots) {
      if (slot.phase === "delayed") consider(slot.delayUntil);
      else if (slot.phase === "stopping") consider(slot.killAt);
      else if (slot.phase === "running") consider(slot.bounceAt);
    }
    for (const left of this.leftovers) consider(left.killAt);
    // Group members that are not our children leave no exit event: look again soon.
    if (this.leftovers.length > 0) consider(this.ports.now() + GROUP_POLL_MS);
    return next;
  }

  private arm(at: number | null): void {
    if (at === this.alarmAt) return;
    this.alarmAt = at;
    this.ports.setAlarm(at === null ? null : Math.min(at, this.ports.now() + MAX_ALARM_MS));
  }
}
