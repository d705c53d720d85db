// Drives the probes of SPEC §12 for running processes: `ready` probes while a job is starting
// (at once, then every READY_POLL_MS, one attempt in flight at a time) and `check` probes
// while it runs (every N, K failures in a row make it unhealthy). It decides nothing about the
// job itself: it reports to the supervisor, which owns the `within` deadline and the restart.
// Timers exist only for jobs being probed, so 100 idle jobs without probes cost nothing.

import type { CheckSpec, ReadySpec } from "../../config/model.ts";
import { runProbe, type ProbeContext } from "./index.ts";
import type { ProbeResult } from "./result.ts";

/** SPEC §12: "probed at once and then every 200 ms until met". */
export const READY_POLL_MS = 200;
/** A single readiness attempt may take at most this long (a hung HTTP server must not stall
 *  the next attempt past the poll rhythm by much). */
export const READY_ATTEMPT_TIMEOUT_MS = 1000;

export interface WatcherEvents {
  /** The `ready` condition is met for this run. */
  ready(name: string, pid: number): void;
  /** A readiness attempt failed (for status: "not ready yet (...)"). */
  notReady(name: string, pid: number, error: string): void;
  /** `failures` checks in a row failed: restart it. `error` is the last one. */
  unhealthy(name: string, pid: number, failures: number, error: string): void;
}

export interface ProbeTarget {
  readonly name: string;
  readonly pid: number;
  readonly runStartedAtEpochMs: number;
  /** Runs an `exec` probe as the job (its user, env, dir). */
  readonly exec: ProbeContext["exec"];
}

interface Watch {
  readonly target: ProbeTarget;
  timer: Timer | null;
  inFlight: boolean;
  stopped: boolean;
}

export class ProbeWatcher {
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly events: WatcherEvents) {}

  /** The run of `target` started and its `ready` line must be met (not for `notify`). */
  startReady(target: ProbeTarget, ready: ReadySpec): void {
    const w = this.begin(target);
    const attempt = () => {
      this.attempt(w, ready.probe, READY_ATTEMPT_TIMEOUT_MS, (result) => {
        if (result.ok) {
          this.end(target.name, w);
          this.events.ready(target.name, target.pid);
        } else {
          this.events.notReady(target.name, target.pid, result.error);
          w.timer = setTimeout(attempt, READY_POLL_MS);
        }
      });
    };
    attempt();
  }

  /** The run of `target` is running (and ready): check it every `check.everyMs`. */
  startChecks(target: ProbeTarget, check: CheckSpec): void {
    const w = this.begin(target);
    let failures = 0;
    const attempt = () => {
      this.attempt(w, check.probe, check.timeoutMs, (result) => {
        if (result.ok) failures = 0;
        else if (++failures >= check.failures) {
          this.end(target.name, w);
          this.events.unhealthy(target.name, target.pid, failures, result.error);
          return;
        }
        w.timer = setTimeout(attempt, check.everyMs);
      });
    };
    w.timer = setTimeout(attempt, check.everyMs);
  }

  /** Stops probing `name` (its run ended, is being stopped, or the job was removed). */
  stop(name: string): void {
    const w = this.watches.get(name);
    if (w) this.end(name, w);
  }

  /** Jobs being probed now (for tests and status). */
  probing(): string[] {
    return [...this.watches.keys()];
  }

  private begin(target: ProbeTarget): Watch {
    this.stop(target.name);
    const w: Watch = { target, timer: null, inFlight: false, stopped: false };
    this.watches.set(target.name, w);
    return w;
  }

  private end(name: string, w: Watch): void {
    w.stopped = true;
    if (w.timer) clearTimeout(w.timer);
    w.timer = null;
    if (this.watches.get(name) === w) this.watches.delete(name);
  }

  private attempt(w: Watch, probe: ReadySpec["probe"], timeoutMs: number, then: (r: ProbeResult) => void): void {
    w.timer = null;
    if (w.stopped || w.inFlight) return;
    w.inFlight = true;
    const ctx: ProbeContext = { timeoutMs, runStartedAtEpochMs: w.target.runStartedAtEpochMs, exec: w.target.exec };
    runProbe(probe, ctx)
      .catch((e: unknown): ProbeResult => ({ ok: false, error: e instanceof Error ? e.message : String(e) }))
      .then((result) => {
        w.inFlight = false;
        // A result for a run that has been stopped or replaced meanwhile is ignored.
        if (!w.stopped) then(result);
      });
  }
}
