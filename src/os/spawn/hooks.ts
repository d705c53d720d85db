// `on exit CMD…` and `on fail CMD…` (SPEC §14): a command run after each exit of a job, or
// when it gives up, for alerts and pagers. A hook is the operator's program, not the job: it
// may fail, hang or flood, and none of that may touch the job or supervision. So:
//   - it runs as the job's user, in the job's dir, with the job's env files and env plus PMTR_JOB,
//     PMTR_EVENT, PMTR_EXIT_CODE or PMTR_EXIT_SIGNAL, PMTR_RESTARTS, PMTR_RAN_MS, PMTR_COALESCED;
//   - at most one runs per job: events that arrive meanwhile wait, one per kind, the latest
//     replacing an earlier one and counted (a crash loop must not start a hook per exit);
//   - it is SIGKILLed with its process group after HOOK_LIMIT_MS;
//   - its output lines go to pmtr's log (tagged NAME.on-exit / NAME.on-fail);
//   - a failure to start it is logged and is all that happens.
// The clock and the spawner are injected (HookPorts), so the limit is unit-tested on a fake clock.

import { makeJob } from "../../config/defaults.ts";
import type { JobSpec } from "../../config/model.ts";
import { hookMsg } from "../../core/messages.ts";
import type { ExitStatus, LogLevel, StartOutcome } from "../../core/ports.ts";
import { signalGroup } from "../proc/process-group.ts";
import type { Spawner } from "./index.ts";

export const HOOK_LIMIT_MS = 30_000;

/** What the core reports for hooks (and metrics): an exit of a job, or its giving up. */
export interface HookEvent {
  readonly kind: "exit" | "fail";
  readonly name: string;
  /** How the run ended; null for a give-up after a failed start (no process ran). */
  readonly status: ExitStatus | null;
  readonly ranMs: number;
  readonly restarts: number;
}

export interface HookPorts {
  /** Start `spec` (through the one spawn path); `onExit` gets this run's exit. */
  start(spec: JobSpec, onExit: (status: ExitStatus) => void): Promise<StartOutcome>;
  killGroup(pgid: number, signal: "SIGTERM" | "SIGKILL"): void;
  setTimer(action: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  log(level: LogLevel, message: string): void;
}

interface Pending {
  event: HookEvent;
  spec: JobSpec;
  argv: readonly string[];
  /** Earlier events of the same kind this one replaced while waiting. */
  coalesced: number;
}

interface Running {
  pid: number | null;
  timer: unknown;
}

export class HookRunner {
  /** Jobs with a hook running (or starting), and what waits behind it. */
  private readonly jobs = new Map<string, { running: Running; queue: Pending[] }>();
  private closed = false;

  constructor(private readonly ports: HookPorts, private readonly limitMs = HOOK_LIMIT_MS) {}

  /** An exit or give-up of the job defined by `spec`: run its hook, if it has one. */
  dispatch(event: HookEvent, spec: JobSpec): void {
    const argv = event.kind === "exit" ? spec.hooks.onExit : spec.hooks.onFail;
    if (argv === null || argv.length === 0 || this.closed) return;
    const busy = this.jobs.get(event.name);
    if (busy === undefined) {
      this.run({ event, spec, argv, coalesced: 0 });
      return;
    }
    const same = busy.queue.find((p) => p.event.kind === event.kind);
    if (same === undefined) busy.queue.push({ event, spec, argv, coalesced: 0 });
    else Object.assign(same, { event, spec, argv, coalesced: same.coalesced + 1 });
  }

  /** Hooks running now (for tests and status). */
  runningCount(): number {
    return this.jobs.size;
  }

  /** At shutdown: nothing new starts, and running hooks get SIGTERM (their group would
   *  otherwise outlive pmtr with nothing left to enforce the limit). */
  close(): void {
    this.closed = true;
    for (const { running, queue } of this.jobs.values()) {
      queue.length = 0;
      this.ports.clearTimer(running.timer);
      if (running.pid !== null) this.ports.killGroup(running.pid, "SIGTERM");
    }
  }

  private run(next: Pending): void {
    const { event, spec, argv, coalesced } = next;
    const name = event.name;
    const entry = { running: { pid: null, timer: null } as Running, queue: [] as Pending[] };
    const existing = this.jobs.get(name);
    if (existing) entry.queue = existing.queue;
    this.jobs.set(name, entry);
    const hookSpec = makeJob({
      name: `${name}.on-${event.kind}`,
      argv,
      user: spec.user,
      dir: spec.dir,
      // The job's env files are read at the hook's start as at the job's; PMTR_* come last and win.
      envFiles: spec.envFiles,
      env: [...spec.env, ...hookEnvironment(event, coalesced)],
      out: "syslog",
      err: "syslog",
    });
    const finished = () => {
      this.ports.clearTimer(entry.running.timer);
      const following = entry.queue.shift();
      if (following === undefined || this.closed) this.jobs.delete(name);
      else this.run(following);
    };
    // The spawner reports an exit only after the start has resolved; held here in case.
    const early: { status: ExitStatus | null } = { status: null };
    let onExit: (status: ExitStatus) => void = (status) => (early.status = status);
    this.ports.start(hookSpec, (status) => onExit(status)).then(
      (outcome) => {
        if (!outcome.ok) {
          this.ports.log("err", hookMsg.cannotStart(name, event.kind, outcome.step, outcome.error));
          return finished();
        }
        const pid = outcome.pid;
        entry.running.pid = pid;
        this.ports.log("info", hookMsg.running(name, event.kind, pid, coalesced));
        onExit = (status) => {
          this.ports.log(status.kind === "exited" && status.code === 0 ? "info" : "warning", hookMsg.ended(name, event.kind, pid, status));
          finished();
        };
        if (early.status !== null) return onExit(early.status);
        entry.running.timer = this.ports.setTimer(() => {
          this.ports.log("warning", hookMsg.overtime(name, event.kind, pid, this.limitMs));
          this.ports.killGroup(pid, "SIGKILL");
        }, this.limitMs);
        if (this.closed) this.ports.killGroup(pid, "SIGTERM");
      },
      (e) => {
        this.ports.log("err", hookMsg.cannotStart(name, event.kind, "spawn", e instanceof Error ? e.message : String(e)));
        finished();
      },
    );
  }
}

/** The PMTR_* variables a hook gets ("VAR=VALUE", as a job's `env`). */
export function hookEnvironment(event: HookEvent, coalesced: number): string[] {
  const env = [`PMTR_JOB=${event.name}`, `PMTR_EVENT=${event.kind}`];
  if (event.status?.kind === "exited") env.push(`PMTR_EXIT_CODE=${event.status.code}`);
  else if (event.status?.kind === "signaled") env.push(`PMTR_EXIT_SIGNAL=${event.status.signal}`);
  env.push(`PMTR_RESTARTS=${event.restarts}`, `PMTR_RAN_MS=${Math.max(0, Math.round(event.ranMs))}`, `PMTR_COALESCED=${coalesced}`);
  return env;
}

/** The runner supervise.ts holds: hooks start through the jobs' own spawner (so they get the
 *  same SPEC §3 context, user switch included), and their output lines reach pmtr's log
 *  through its onOutputLine, tagged with the hook's name (NAME.on-exit). */
export function createHookRunner(spawner: Pick<Spawner, "start">, log: HookPorts["log"]): HookRunner {
  return new HookRunner({
    start: (spec, onExit) => spawner.start(spec, { onExit }),
    killGroup: (pgid, signal) => {
      try {
        signalGroup(pgid, signal);
      } catch (e) {
        log("err", `cannot send ${signal} to hook process group ${pgid}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    setTimer: (action, ms) => setTimeout(action, ms),
    clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    log,
  });
}
