// The captured outputs of every job (SPEC §13): which streams go through pmtr, the pipes of
// each run, the pumps that drain them, and the rotated files they feed. supervise.ts calls
// start() instead of the spawner's start directly; everything else about output stays here.
//
// A pump belongs to one run's pipe and lives until end-of-file, which may be after the run
// has exited (its children still hold the pipe): a restart gets a fresh pipe and pump, and
// both feed the same RotatingFile (one per path, shared by every pump that writes it and
// closed when the last one ends), line by line. So a restart neither loses the previous run's
// last lines nor splits a line, and a changed `rotate` size applies from the next write.

import { closeQuietly, isDirectory } from "../files.ts";
import type { JobSpec } from "../../config/model.ts";
import { msg } from "../../core/messages.ts";
import type { LogLevel, StartOutcome } from "../../core/ports.ts";
import { shownPath } from "../spawn/job-env.ts";
import { osError } from "../libc.ts";
import { openConsoleWriter, type ConsoleWriter } from "./console-writer.ts";
import { jobFsIdentity, type FsIdentity } from "./fs-identity.ts";
import { pumpOutput, type LineSink } from "./output-pump.ts";
import { openOutputPipe, type OutputPipe } from "./pipe.ts";
import { RotatingFile } from "./rotating-file.ts";
import { appendStartError } from "./start-error.ts";

/** The fds a run gets as its stdout/stderr instead of opening `out`/`err` itself. */
export interface CapturedIo {
  readonly stdout?: number;
  readonly stderr?: number;
}

export type Launch = (io: CapturedIo | undefined) => Promise<StartOutcome>;

export interface JobOutputs {
  /** One run of `job`: pipes for its captured streams, `launch` with them, pumps once it runs.
   *  A failed start is also written to the job's `err` file when pmtr can open it. */
  start(job: JobSpec, launch: Launch): Promise<StartOutcome>;
  /** Reopen every rotated file (SIGUSR1, `pmtr reopen`); returns one message per failure. */
  reopen(): string[];
  /** After a reload: rotate SIZE and keep of the files open now follow the new definitions
   *  (SPEC §11 applies a change of them in place, without restarting the job). */
  configure(jobs: readonly JobSpec[]): void;
  /** Rotated files open now. */
  openFiles(): number;
  /** Resolves once every pump has reached end-of-file (all jobs gone), or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
}

/** How a job's stream is written: "direct" (the job opens the file, or /dev/null, or syslog:
 *  as in SPEC §3), or through pmtr to a rotated "file" or the "console". */
export function streamRoute(job: JobSpec, stream: "out" | "err"): "direct" | "file" | "console" {
  const path = job[stream];
  if (path === "console") return "console";
  if (job.rotate !== null && path !== "syslog" && path !== "/dev/null") return "file";
  return "direct";
}

export function createJobOutputs(log: (level: LogLevel, message: string) => void): JobOutputs {
  const files = new Map<string, { file: RotatingFile; pumps: number }>();
  const pumps = new Set<Promise<void>>();
  const consoles: { out?: ConsoleWriter; err?: ConsoleWriter } = {};
  let readerFailed = false; // said once per pmtr
  const consoleFor = (stream: "out" | "err") => (consoles[stream] ??= openConsoleWriter(stream === "out" ? 1 : 2));

  const acquireFile = (job: JobSpec, path: string, identity: FsIdentity | null): RotatingFile => {
    const limits = { maxBytes: job.rotate!.maxBytes, keep: job.rotate!.keep };
    let entry = files.get(path);
    if (!entry) files.set(path, (entry = { file: new RotatingFile(path, limits, identity), pumps: 0 }));
    entry.file.limits = limits;
    entry.pumps++;
    return entry.file;
  };
  const releaseFile = (path: string) => {
    const entry = files.get(path);
    if (!entry || --entry.pumps > 0) return;
    files.delete(path);
    try {
      entry.file.close();
    } catch {}
  };

  /** Opens (creates) a rotated stream's file before the run starts, as the job would open a
   *  direct one: a file that cannot be opened is the start's failure, with the reason, not a
   *  job that runs and stalls. Returns the failure, or null with the file acquired. */
  const openFileFirst = (job: JobSpec, stream: "out" | "err", identity: FsIdentity | null): { step: string; error: string } | null => {
    const path = shownPath(job.dir, job[stream]);
    const file = acquireFile(job, path, identity);
    try {
      file.ensureOpen();
      return null;
    } catch (e) {
      releaseFile(path);
      return { step: stream, error: `open ${path}${identity ? ` as user ${job.user}` : ""}: ${osError(e)}` };
    }
  };

  const runPump = (job: JobSpec, stream: "out" | "err", pipe: OutputPipe) => {
    let sink: LineSink;
    let release = () => {};
    let where: string;
    if (streamRoute(job, stream) === "console") {
      const writer = consoleFor(stream);
      sink = { write: (head, lines) => writer.writeLines(job.name, head.length === 0 ? lines : Buffer.concat([head, lines])) };
      where = stream === "out" ? "pmtr's stdout" : "pmtr's stderr";
    } else {
      const path = shownPath(job.dir, job[stream]);
      const file = files.get(path)!.file; // acquired by openFileFirst
      sink = { write: (head, lines) => file.appendBoth(head, lines) };
      release = () => releaseFile(path);
      where = path;
    }
    const pump = pumpOutput(pipe.readFd, {
      sink,
      onStall: (error) => {
        if (error === null) log("notice", msg.outputResumed(job.name, where));
        else log("err", msg.outputStalled(job.name, where, osError((error as { cause?: unknown }).cause ?? error)));
      },
      onReaderFallback: (reason) => {
        if (!readerFailed) log("warning", msg.outputReaderFallback(reason));
        readerFailed = true;
      },
    }).finally(() => {
      release();
      pumps.delete(pump);
    });
    pumps.add(pump);
  };

  const recordStartError = (job: JobSpec, outcome: Extract<StartOutcome, { ok: false }>) =>
    appendStartError(job, outcome, (path) => files.get(path)?.file ?? null);

  return {
    async start(job, launch) {
      const routes = { out: streamRoute(job, "out"), err: streamRoute(job, "err") };
      if (routes.out === "direct" && routes.err === "direct") {
        const outcome = await launch(undefined);
        if (!outcome.ok) recordStartError(job, outcome);
        return outcome;
      }
      const identity = jobFsIdentity(job.user);
      const opened: Array<{ stream: "out" | "err"; pipe: OutputPipe }> = [];
      const io: { stdout?: number; stderr?: number } = {};
      try {
        if (routes.out !== "direct") {
          const pipe = openOutputPipe();
          opened.push({ stream: "out", pipe });
          io.stdout = pipe.writeFd;
        }
        if (routes.err !== "direct") {
          // Both streams into one file: one pipe, so their lines keep the order they had.
          const shared = routes.err === "file" && routes.out === "file" && shownPath(job.dir, job.out) === shownPath(job.dir, job.err);
          if (shared) io.stderr = io.stdout;
          else {
            const pipe = openOutputPipe();
            opened.push({ stream: "err", pipe });
            io.stderr = pipe.writeFd;
          }
        }
      } catch (e) {
        for (const { pipe } of opened) closeBoth(pipe);
        return { ok: false, step: routes.out !== "direct" && opened.length === 0 ? "out" : "err", error: `pipe: ${osError(e)}` };
      }
      // Files first, unless the start is bound to fail earlier (an unknown user, a missing dir:
      // the run reports that step, as SPEC §3 orders them).
      const fileStreams = opened.filter(({ stream }) => routes[stream] === "file").map(({ stream }) => stream);
      if (fileStreams.length > 0 && identity !== "unknown-user" && isDirectory(job.dir)) {
        const acquired: Array<"out" | "err"> = [];
        for (const stream of fileStreams) {
          const failure = openFileFirst(job, stream, identity);
          if (failure !== null) {
            for (const done of acquired) releaseFile(shownPath(job.dir, job[done]));
            for (const { pipe } of opened) closeBoth(pipe);
            const outcome: StartOutcome = { ok: false, ...failure };
            recordStartError(job, outcome);
            return outcome;
          }
          acquired.push(stream);
        }
      } else if (fileStreams.length > 0) {
        // Not opened: the run will fail. Acquired all the same, so the paths below stay uniform.
        for (const stream of fileStreams) acquireFile(job, shownPath(job.dir, job[stream]), null);
      }
      const releaseFiles = () => {
        for (const stream of fileStreams) releaseFile(shownPath(job.dir, job[stream]));
      };
      let outcome: StartOutcome;
      try {
        outcome = await launch(io);
      } catch (e) {
        for (const { pipe } of opened) closeQuietly(pipe.readFd);
        releaseFiles();
        throw e;
      } finally {
        // The run has its copies (or never will): pmtr keeps only the read ends, so end-of-file
        // comes when the run and everything it started are done writing.
        for (const { pipe } of opened) closeQuietly(pipe.writeFd);
      }
      if (!outcome.ok) {
        for (const { pipe } of opened) closeQuietly(pipe.readFd);
        releaseFiles();
        recordStartError(job, outcome);
        return outcome;
      }
      // Each pump releases its file when it ends.
      for (const { stream, pipe } of opened) runPump(job, stream, pipe);
      return outcome;
    },
    reopen() {
      const failures: string[] = [];
      for (const [path, { file }] of files) {
        try {
          file.reopen();
        } catch (e) {
          failures.push(`cannot reopen ${path}: ${osError(e)}`);
        }
      }
      return failures;
    },
    configure(jobs) {
      for (const job of jobs) {
        if (job.rotate === null) continue;
        for (const stream of ["out", "err"] as const) {
          const entry = streamRoute(job, stream) === "file" ? files.get(shownPath(job.dir, job[stream])) : undefined;
          if (entry) entry.file.limits = { maxBytes: job.rotate.maxBytes, keep: job.rotate.keep };
        }
      }
    },
    openFiles: () => files.size,
    async drain(timeoutMs) {
      let timer: Timer | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.all([...pumps]), timeout]);
      clearTimeout(timer);
    },
  };
}


function closeBoth(pipe: OutputPipe): void {
  closeQuietly(pipe.readFd);
  closeQuietly(pipe.writeFd);
}

