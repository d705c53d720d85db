// Starts every process pmtr runs — jobs, readiness and check probes, hooks — with SPEC §3's
// exact context, through one path: request.ts builds the start, spawn.c performs it
// (clone(CLONE_VM|CLONE_VFORK), the steps in order, execve) and reports a failed step,
// children.ts collects the exit. No helper process, no Bun.spawn.
//
// A start is synchronous: pmtr waits while the child runs its steps (tens of microseconds),
// until it has exec'd or failed. Nothing on that path can wait on another process: FIFOs are
// opened non-blocking (a FIFO `out` without a reader fails the start). What can still stall
// it is the file system: a `dir` or `out` on a hung network mount holds pmtr until it answers.
//
// Ordering promise: for a start that resolves {ok: true, pid}, the exit of pid is reported
// after the promise has resolved, exactly once. A start that resolves {ok: false} reports no
// exit: its child has been collected already.

import { makeJob } from "../../config/defaults.ts";
import type { JobSpec } from "../../config/model.ts";
import type { ExitStatus, StartOutcome } from "../../core/ports.ts";
import { withEnvFiles } from "../config/env-files.ts";
import { errnoText, lastErrno, libc } from "../libc.ts";
import { createLineSplitter } from "../log/line-splitter.ts";
import { track } from "./children.ts";
import { spawnRoutine } from "./compile.ts";
import { buildRequest, failure, type StdioFds } from "./request.ts";

export type { StdioFds } from "./request.ts";

export interface SpawnerOptions {
  readonly onExit: (pid: number, status: ExitStatus) => void;
  /** Each line a job writes to an `out syslog` / `err syslog` pipe. */
  readonly onOutputLine?: (job: JobSpec, pid: number, stream: "out" | "err", line: string) => void;
  /** Unused since the exec helper is gone; accepted so older call sites still compile. */
  readonly helperPath?: string;
}

export interface StartOptions {
  /** Fds pmtr holds that the child gets as 0, 1, 2 instead of opening `in`/`out`/`err` (a pipe
   *  pmtr reads for rotation or `console`). pmtr keeps its copy: close it when done. */
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
}

const O_CLOEXEC = 0o2000000;
const OUT_OF_FDS = "pmtr has no file descriptors left (Too many open files): raise pmtr's open-files limit (ulimit -n, LimitNOFILE=) or run fewer jobs";

/** Compiles the spawn routine now, so that a host where it cannot be built fails at start-up,
 *  with the reason, rather than at the first job. */
export function createSpawner(opts: SpawnerOptions): Spawner {
  spawnRoutine();

  const startNow = (spec: JobSpec, options: StartOptions): StartOutcome => {
    // `env file`s are read at every start, by pmtr (env-files.ts); the request sees plain `env`.
    const read = withEnvFiles(spec, process.getuid?.() === 0);
    if (!read.ok) return { ok: false, step: "env", error: read.error };
    const job = read.job;
    const io = options.io ?? {};
    // `syslog` outputs: a pipe pmtr reads, unless the caller passed its own fd.
    const pipes: { stdout?: [number, number]; stderr?: [number, number] } = {};
    try {
      if (job.out === "syslog" && io.stdout === undefined) pipes.stdout = pipe();
      if (job.err === "syslog" && io.stderr === undefined) pipes.stderr = pipe();
    } catch {
      closePipes(pipes, true);
      return { ok: false, step: "spawn", error: OUT_OF_FDS };
    }
    const req = buildRequest(job, io, { stdout: pipes.stdout?.[1], stderr: pipes.stderr?.[1] });
    if (!("slots" in req)) {
      closePipes(pipes, true);
      return { ok: false, ...req };
    }
    const pid = Number(spawnRoutine().pmtr_spawn(req.slots));
    // performance.now() is the clock of Ports.now() (supervise.ts).
    const startedAtMs = performance.now();
    closePipes(pipes, pid < 0);
    if (pid < 0) return { ok: false, ...failure(req) };
    const own = options.onExit;
    track(pid, own ?? ((status) => opts.onExit(pid, status)));
    if (pipes.stdout) void readLines(pipes.stdout[0], (line) => opts.onOutputLine?.(job, pid, "out", line));
    if (pipes.stderr) void readLines(pipes.stderr[0], (line) => opts.onOutputLine?.(job, pid, "err", line));
    return { ok: true, pid, startedAtMs };
  };

  return {
    start: async (job, options = {}) => startNow(job, options),
    spawnProcess: async (argv, options = {}) => {
      const { user = null, env = [], dir = "/", name = "process", ...startOptions } = options;
      return startNow(makeJob({ name, argv, user, env, dir }), startOptions);
    },
  };
}

/** [read end, write end], both close-on-exec. */
function pipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(fds, O_CLOEXEC) !== 0) throw new Error(`pipe2: ${errnoText(lastErrno())}`);
  return [fds[0]!, fds[1]!];
}

/** The write ends always (the child has its copies); the read ends too when nothing will read. */
function closePipes(pipes: { stdout?: [number, number]; stderr?: [number, number] }, all: boolean): void {
  for (const p of [pipes.stdout, pipes.stderr]) {
    if (p === undefined) continue;
    libc().close(p[1]);
    if (all) libc().close(p[0]);
  }
}

async function readLines(fd: number, onLine: (line: string) => void): Promise<void> {
  const splitter = createLineSplitter(onLine);
  try {
    for await (const chunk of Bun.file(fd).stream()) splitter.push(chunk);
  } catch {
    // A read error ends the output like EOF: the job's exit is reported by its own path.
  }
  splitter.end();
  libc().close(fd);
}
