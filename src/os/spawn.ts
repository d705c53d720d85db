// Starts runs of jobs with their exact SPEC §3 context and reports how each one ends.
//
// Two ways in. A job with `user`, `cpu`, `ulimit` or a `nice` other than pmtr's own goes
// through the exec helper (`pmtr --exec-helper`, exec-helper.ts), which applies them between
// fork and exec: one Bun start-up per start, so at most `maxConcurrentHelpers` run at once and
// the rest wait in a queue. Every other job is started by Bun.spawn directly (0.15 ms against
// 7.7 ms, test/bench/spawn.ts), because for those Bun.spawn gives exactly the same context
// (exec-direct.ts has the table; test/integration/spawn-context.test.ts runs one probe through
// both paths and compares). Stdio that is a FIFO or a device also goes through the helper.
//
// Ordering promise: for a start that resolves {ok: true, pid}, onExit(pid) comes after the
// promise has resolved, exactly once. A start that resolves {ok: false} never calls onExit:
// the helper that failed is reaped here and its exit is not the job's.

import { closeSync, openSync } from "node:fs";
import type { Subprocess } from "bun";
import { makeJob } from "../config/defaults.ts";
import type { JobSpec } from "../config/model.ts";
import type { ExitStatus, StartOutcome } from "../core/ports.ts";
import { canSpawnDirectly, osError, spawnDirect } from "./exec-direct.ts";
import { decodeFailure, encodeSettings, HELPER_FLAG, SETTINGS_VAR } from "./exec-protocol.ts";
import { withEnvFiles } from "./env-files.ts";
import { jobEnvironment } from "./job-env.ts";
import { clearInheritedSignals } from "./inherited-signals.ts";
import { createLineSplitter } from "./line-splitter.ts";

export interface SpawnerOptions {
  /** The pmtr binary (process.execPath of dist/pmtr), run in its --exec-helper mode. */
  readonly helperPath: string;
  readonly onExit: (pid: number, status: ExitStatus) => void;
  /** Helpers running at once; each costs a Bun start-up (~30 MB for ~10 ms). Default 4. */
  readonly maxConcurrentHelpers?: number;
  /** Each line a job writes to an `out syslog` / `err syslog` pipe. */
  readonly onOutputLine?: (job: JobSpec, pid: number, stream: "out" | "err", line: string) => void;
  /** false sends every job through the helper (tests and benchmarks compare the two paths). */
  readonly allowDirect?: boolean;
}

/** Fds pmtr already holds that the child gets as its 0, 1, 2 instead of opening `in`/`out`/`err`
 *  (a pipe pmtr reads for rotation or `console`). pmtr keeps its own copy: close it when done. */
export interface StdioFds {
  readonly stdin?: number;
  readonly stdout?: number;
  readonly stderr?: number;
}

export interface StartOptions {
  readonly io?: StdioFds;
  /** This run's exit goes here instead of to SpawnerOptions.onExit (probes, hooks). */
  readonly onExit?: (status: ExitStatus) => void;
}

/** A process that is not a job (a readiness `exec` probe, a check, an `on exit` hook), started
 *  through the same path and so with the same SPEC §3 context as a job. */
export interface ProcessOptions extends StartOptions {
  readonly user?: string | null;
  /** "VAR=VALUE" entries on top of pmtr's environment, as a job's `env`. */
  readonly env?: readonly string[];
  /** Working directory, "/" by default. */
  readonly dir?: string;
  /** Names it in errors; "process" by default. */
  readonly name?: string;
}

export interface Spawner {
  start(job: JobSpec, options?: StartOptions): Promise<StartOutcome>;
  /** argv[0] absolute; stdin/stdout/stderr /dev/null unless given in `io`. */
  spawnProcess(argv: readonly string[], options?: ProcessOptions): Promise<StartOutcome>;
  /** Helpers holding a slot now, and starts queued for one. */
  helpers(): { readonly running: number; readonly queued: number };
}

export const DEFAULT_MAX_CONCURRENT_HELPERS = 4;
/** A helper that has not reported by then (an `in` FIFO without a writer, a slow directory
 *  service) gives up its slot so it cannot hold up every other start; it still reports later. */
const SLOW_HELPER_MS = 2000;

/** Where one run stands: its exit is held back while the start is undecided. */
interface Run {
  phase: "starting" | "running" | "failed";
  exit: ExitStatus | null;
  readonly report: (pid: number, status: ExitStatus) => void;
}

export function createSpawner(opts: SpawnerOptions): Spawner {
  // Before the first start: both paths pass pmtr's own signal state on.
  clearInheritedSignals();
  const maxHelpers = Math.max(1, opts.maxConcurrentHelpers ?? DEFAULT_MAX_CONCURRENT_HELPERS);
  const waiting: Array<() => void> = [];
  let helpers = 0;

  const acquireSlot = async (): Promise<() => void> => {
    if (helpers >= maxHelpers) await new Promise<void>((wake) => waiting.push(wake));
    else helpers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next(); // the slot passes on as it is: `helpers` stays counted
      else helpers--;
    };
  };

  const finish = (run: Run, pid: number, proc: Subprocess) => {
    const status = exitStatus(proc);
    if (run.phase === "starting") run.exit = status;
    else if (run.phase === "running") run.report(pid, status);
  };

  const reporter = (options: StartOptions): Run["report"] => {
    const own = options.onExit;
    return own === undefined ? opts.onExit : (_pid, status) => own(status);
  };

  const readOutput = (job: JobSpec, proc: Subprocess, io: StdioFds) => {
    if (job.out === "syslog" && io.stdout === undefined) void readLines(proc.stdout as ReadableStream<Uint8Array>, (line) => opts.onOutputLine?.(job, proc.pid, "out", line));
    if (job.err === "syslog" && io.stderr === undefined) void readLines(proc.stderr as ReadableStream<Uint8Array>, (line) => opts.onOutputLine?.(job, proc.pid, "err", line));
  };

  const startDirect = (job: JobSpec, options: StartOptions): StartOutcome | null => {
    if (!fdsToSpare()) return OUT_OF_FDS;
    const run: Run = { phase: "running", exit: null, report: reporter(options) };
    const env = Object.fromEntries(jobEnvironment(process.env, job.env, null));
    const io = options.io ?? {};
    const outcome = spawnDirect(job, { env, io, onExit: (proc) => finish(run, proc.pid, proc) });
    if (outcome.ok === "use-helper") return null;
    if (!outcome.ok) return { ok: false, step: outcome.step, error: outcome.error };
    readOutput(job, outcome.proc, io);
    // performance.now() is the clock of Ports.now() (supervise.ts).
    return { ok: true, pid: outcome.proc.pid, startedAtMs: performance.now() };
  };

  const startWithHelper = async (job: JobSpec, options: StartOptions): Promise<StartOutcome> => {
    const io = options.io ?? {};
    const release = await acquireSlot();
    const slow = setTimeout(release, SLOW_HELPER_MS);
    try {
      const run: Run = { phase: "starting", exit: null, report: reporter(options) };
      let proc: Subprocess;
      if (!fdsToSpare()) return OUT_OF_FDS;
      try {
        proc = Bun.spawn([opts.helperPath, HELPER_FLAG], {
          env: { ...process.env, [SETTINGS_VAR]: encodeSettings(job, io) },
          stdio: [
            io.stdin ?? "ignore",
            io.stdout ?? (job.out === "syslog" ? "pipe" : "ignore"),
            io.stderr ?? (job.err === "syslog" ? "pipe" : "ignore"),
            "pipe",
          ],
          detached: true,
          onExit: (p) => finish(run, p.pid, p),
        });
      } catch (e) {
        const error = osError(e);
        // Out of fds is pmtr's own condition, whatever the job: say so, and what fixes it.
        if (/Too many open files/i.test(error)) {
          return { ok: false, step: "spawn", error: `pmtr has no file descriptors left (${error}): raise pmtr's open-files limit (ulimit -n, LimitNOFILE=) or run fewer jobs` };
        }
        return { ok: false, step: "spawn", error: `${opts.helperPath} ${HELPER_FLAG}: ${error}` };
      }
      readOutput(job, proc, io);
      let status: string;
      try {
        status = await readStatus(proc.stdio[3] as number);
      } catch (e) {
        // The helper runs, but whether it went on to exec the job is unknown: reading its status
        // needs fds, and pmtr had none left (EMFILE from epoll_create1). Left alone, that run
        // would go on untracked, beside the retry, and outlive pmtr: it is killed with its group.
        run.phase = "failed";
        killRun(proc);
        return { ok: false, step: "spawn", error: `${opts.helperPath} ${HELPER_FLAG}: cannot read its status: ${osError(e)}` };
      }
      const failure = decodeFailure(status);
      if (failure !== null) {
        run.phase = "failed";
        return { ok: false, ...failure };
      }
      run.phase = "running";
      const early = run.exit;
      // The job may have exited before its status channel was read: report that exit after
      // the caller has seen the pid.
      if (early !== null) setImmediate(() => run.report(proc.pid, early));
      return { ok: true, pid: proc.pid };
    } finally {
      clearTimeout(slow);
      release();
    }
  };

  const start = async (spec: JobSpec, options: StartOptions = {}): Promise<StartOutcome> => {
    // `env file`s are read at every start, by pmtr (env-files.ts); both paths then see plain `env`.
    const read = withEnvFiles(spec, process.getuid?.() === 0);
    if (!read.ok) return { ok: false, step: "env", error: read.error };
    const job = read.job;
    if (opts.allowDirect !== false && canSpawnDirectly(job)) {
      const outcome = startDirect(job, options);
      if (outcome !== null) return outcome;
    }
    return startWithHelper(job, options);
  };

  return {
    start,
    spawnProcess: (argv, options = {}) => {
      const { user = null, env = [], dir = "/", name = "process", ...startOptions } = options;
      return start(makeJob({ name, argv, user, env, dir }), startOptions);
    },
    helpers: () => ({ running: helpers, queued: waiting.length }),
  };
}

/** Bun.spawn needs a few fds of its own after the fork (pidfd_open, its exec-error pipe). If one
 *  of them fails for want of fds, Bun throws, but the child has already been started and is then
 *  lost to pmtr: seen under `prlimit --nofile=64`, a job's grandchild outlived everything. So no
 *  spawn is attempted unless this many fds could be opened a moment before. */
const FDS_NEEDED_TO_SPAWN = 8;

const OUT_OF_FDS: StartOutcome = {
  ok: false,
  step: "spawn",
  error: "pmtr has no file descriptors left (Too many open files): raise pmtr's open-files limit (ulimit -n, LimitNOFILE=) or run fewer jobs",
};

function fdsToSpare(): boolean {
  const held: number[] = [];
  try {
    for (let i = 0; i < FDS_NEEDED_TO_SPAWN; i++) held.push(openSync("/dev/null", "r"));
    return true;
  } catch {
    return false;
  } finally {
    for (const fd of held) closeSync(fd);
  }
}

/** SIGKILL to a helper (or the job it became) and its group; Bun still reaps it. */
function killRun(proc: Subprocess): void {
  try {
    process.kill(-proc.pid, "SIGKILL"); // detached: it leads its own group once it runs
  } catch {}
  try {
    proc.kill("SIGKILL");
  } catch {}
}

/** Everything the helper wrote before its status fd closed (at execve, or at its exit). */
async function readStatus(fd: number): Promise<string> {
  try {
    return await Bun.file(fd).text();
  } finally {
    closeSync(fd);
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const splitter = createLineSplitter(onLine);
  try {
    for await (const chunk of stream) splitter.push(chunk);
  } catch {
    // A read error ends the output like EOF: the job's exit is reported by its own path.
  }
  splitter.end();
}

function exitStatus(proc: Subprocess): ExitStatus {
  const signal = proc.signalCode;
  if (signal !== null) return { kind: "signaled", signal: typeof signal === "number" ? `SIG${signal}` : signal };
  return { kind: "exited", code: proc.exitCode ?? 0 };
}
