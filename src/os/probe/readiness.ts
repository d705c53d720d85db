// The runner's side of SPEC §12: turns the supervisor's run changes into probing, and probe
// results back into supervisor events. A job entering `starting` is probed (or, with `ready
// notify`, listened to) until it is ready; a job entering `running` with a `check` line is
// checked; any other state ends both. The supervisor owns every decision and deadline (the
// `within` timeout, the restart of an unhealthy job); this module only observes and reports.

import type { JobSpec } from "../../config/model.ts";
import type { ExitStatus, StartOutcome } from "../../core/ports.ts";
import { NotifyHub } from "../notify/hub.ts";
import { lookupUser } from "../spawn/users.ts";
import { notMet, MET, type ProbeResult } from "./result.ts";
import { ProbeWatcher, type ProbeTarget } from "./watcher.ts";

/** The part of a run state this module looks at (core/job.ts Run). */
export interface RunView {
  readonly kind: string;
  readonly pid?: number;
  /** When the run's process was created, on the supervisor's monotonic clock. */
  readonly startedAt?: number;
}

export interface ReadinessEvents {
  ready(name: string): void;
  notReady(name: string, reason: string): void;
  unhealthy(name: string, pid: number, failures: number, error: string): void;
  /** sd_notify STATUS= text of a `ready notify` job (null clears it). */
  statusText(name: string, text: string | null): void;
}

export interface ReadinessOptions {
  readonly events: ReadinessEvents;
  /** Where the notify sockets go: a directory pmtr owns (short path: sun_path is 108 bytes). */
  readonly notifyDir: string;
  /** Starts an exec probe as the job would be started (its user, env, dir). */
  readonly spawn: (argv: readonly string[], job: JobSpec, onExit: (status: ExitStatus) => void) => Promise<StartOutcome>;
  readonly killGroup: (pgid: number) => void;
  /** The supervisor's monotonic clock (Ports.now), to date a run's start in wall-clock time. */
  readonly now: () => number;
  readonly warn: (message: string) => void;
}

export interface Readiness {
  /** The definition to spawn: with NOTIFY_SOCKET for `ready notify` jobs; or an error that
   *  fails the start (the socket could not be made). */
  prepare(job: JobSpec): { ok: true; job: JobSpec } | { ok: false; step: string; error: string };
  /** The supervisor moved `job` to `run`. */
  runChanged(job: JobSpec, run: RunView): void;
  /** `names` are no longer configured: their notify sockets go. */
  forget(names: readonly string[]): void;
  close(): void;
}

export function createReadiness(opts: ReadinessOptions): Readiness {
  const { events } = opts;
  const watcher = new ProbeWatcher({
    ready: (name) => events.ready(name),
    notReady: (name, _pid, error) => events.notReady(name, error),
    unhealthy: (name, pid, failures, error) => events.unhealthy(name, pid, failures, error),
  });
  const hub = new NotifyHub(opts.notifyDir, {
    ready: (name) => events.ready(name),
    status: (name, text) => events.statusText(name, text),
    // A daemon saying it is stopping is shown; the exit that follows is handled as any exit.
    stopping: (name) => events.statusText(name, "stopping"),
  }, opts.warn);
  /** What each job is being watched for now, so a repeated state costs nothing. */
  const phase = new Map<string, { kind: string; pid: number; job: JobSpec }>();

  const execAs = (job: JobSpec) => (argv: readonly string[], timeoutMs: number): Promise<ProbeResult> =>
    new Promise((resolve) => {
      let timer: Timer | null = null;
      let settled = false;
      const done = (r: ProbeResult) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolve(r);
      };
      opts.spawn(argv, job, (status) => {
        if (status.kind === "exited" && status.code === 0) done(MET);
        else done(notMet(`exec ${argv[0]}: ${status.kind === "exited" ? `exit status ${status.code}` : `killed by ${status.signal}`}`));
      }).then((outcome) => {
        if (!outcome.ok) return done(notMet(`exec ${argv[0]}: ${outcome.step}: ${outcome.error}`));
        timer = setTimeout(() => {
          opts.killGroup(outcome.pid);
          done(notMet(`exec ${argv[0]}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
      }, (e: unknown) => done(notMet(`exec ${argv[0]}: ${e instanceof Error ? e.message : String(e)}`)));
    });

  const target = (job: JobSpec, run: RunView): ProbeTarget => ({
    name: job.name,
    pid: run.pid ?? 0,
    runStartedAtEpochMs: Date.now() - (run.startedAt === undefined ? 0 : Math.max(0, opts.now() - run.startedAt)),
    exec: execAs(job),
  });

  return {
    prepare(job) {
      if (job.ready?.probe.kind !== "notify") return { ok: true, job };
      const user = job.user === null ? null : lookupUser(job.user);
      if (job.user !== null && user === null) return { ok: false, step: "user", error: `no such user ${job.user}` };
      const owner = user === null ? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } : { uid: user.uid, gid: user.gid };
      const socket = hub.socketFor(job.name, owner);
      if (!socket.ok) return { ok: false, step: "notify", error: socket.message };
      hub.reset(job.name);
      return { ok: true, job: { ...job, env: [`NOTIFY_SOCKET=${socket.path}`, ...job.env.filter((e) => !e.startsWith("NOTIFY_SOCKET="))] } };
    },

    runChanged(job, run) {
      if (run.kind === "removed") return this.forget([job.name]);
      const pid = run.pid ?? 0;
      const was = phase.get(job.name);
      // The same run in the same phase under the same definition: nothing to do. A definition
      // replaced in place (a changed `check`, SPEC §11) restarts the checks with the new one.
      if (was !== undefined && was.kind === run.kind && was.pid === pid && was.job === job) return;
      if (was !== undefined) {
        watcher.stop(job.name);
        hub.settle(job.name);
        phase.delete(job.name);
      }
      if (run.kind === "starting" && job.ready !== null) {
        phase.set(job.name, { kind: run.kind, pid, job });
        if (was?.pid !== pid) events.statusText(job.name, null);
        if (job.ready.probe.kind === "notify") hub.expect(job.name);
        else watcher.startReady(target(job, run), job.ready);
      } else if (run.kind === "running" && job.check !== null) {
        phase.set(job.name, { kind: run.kind, pid, job });
        watcher.startChecks(target(job, run), job.check);
      }
    },

    forget(names) {
      for (const name of names) {
        watcher.stop(name);
        hub.release(name);
        phase.delete(name);
      }
    },

    close() {
      for (const name of watcher.probing()) watcher.stop(name);
      hub.close();
      phase.clear();
    },
  };
}
