// Starting a job with Bun.spawn itself, without the exec helper: ~1 ms instead of one Bun
// start-up (see test/bench/spawn.ts). It is used only where the result is exactly SPEC §3,
// which a probe established for Bun 1.4.5 (test/integration/spawn-context.test.ts runs the same
// probe through both paths and compares every line):
//
//   property                 Bun.spawn child                     here
//   argv, no PATH search      argv as given (argv[0] absolute)    as is
//   cwd, env                  `cwd`, `env` exactly                as is
//   fds                       only 0, 1, 2                        as is
//   session/process group     `detached: true` = setsid           as is
//   signal mask               the spawning thread's               emptied in pmtr first
//   signal dispositions       all default (Bun resets its         pmtr's 32, 33 set to default
//                             ignored SIGPIPE and SIGXFSZ), but   first (inherited-signals.ts)
//                             pmtr's ignored 32, 33 as they are
//   umask                     pmtr's                              022 around the spawn
//   soft NOFILE               pmtr's, raised by Bun to the hard   1024 around the spawn
//   nice, affinity            the spawning thread's               direct only if nice equals
//                                                                 pmtr's and no `cpu`
//   rlimits, user             pmtr's; Bun's uid/gid skip          helper only
//                             initgroups
//
// umask and the NOFILE soft limit are process-wide: they are changed for the few hundred
// microseconds of one synchronous Bun.spawn call (JavaScript runs nothing else meanwhile) and
// restored at once. Bun's own threads could open a file in that window: it would get mode
// 0644 & ~022 rather than pmtr's umask (pmtr creates files only at start-up, before any job),
// and fail with EMFILE only if pmtr had all of fds 0..1023 in use; a spawn that itself fails
// with EMFILE then goes through the helper instead.

import { statSync, accessSync, openSync, closeSync, fstatSync, constants } from "node:fs";
import { getPriority } from "node:os";
import { dlopen, CString } from "bun:ffi";
import type { Subprocess } from "bun";
import type { JobSpec } from "../config/model.ts";
import { libcPath } from "./libc-path.ts";
import { shownPath, type StepFailure } from "./exec-protocol.ts";
import { rootInputRefusal } from "./root-only.ts";

const RLIMIT_NOFILE = 7;
const DEFAULT_NOFILE_SOFT = 1024n;
const EMFILE = 24;
const ENFILE = 23;
const ENOTDIR = 20;

function openLibc() {
  return dlopen(libcPath(), {
    umask: { args: ["u32"], returns: "u32" },
    getrlimit: { args: ["i32", "ptr"], returns: "i32" },
    setrlimit: { args: ["i32", "ptr"], returns: "i32" },
    strerror: { args: ["i32"], returns: "ptr" },
  }).symbols;
}
let libc: ReturnType<typeof openLibc> | undefined;

/** True when Bun.spawn gives `job` exactly the context the helper would. */
export function canSpawnDirectly(job: JobSpec): boolean {
  // A relative argv[0] would make Bun search PATH; the helper's execve does not.
  return job.argv[0]?.startsWith("/") === true && job.user === null && job.cpu === null && job.ulimits.length === 0 && job.nice === getPriority();
}

export type DirectOutcome =
  | { readonly ok: true; readonly proc: Subprocess }
  | ({ readonly ok: false } & StepFailure)
  /** Start it through the helper instead: a stdio path is special (see plainStdio), or pmtr
   *  ran out of fds under the lowered limit. */
  | { readonly ok: "use-helper" };

export interface DirectSpawnOptions {
  readonly env: Record<string, string>;
  /** Fds pmtr passes as the job's 0, 1, 2 instead of opening the path. */
  readonly io: { readonly stdin?: number; readonly stdout?: number; readonly stderr?: number };
  readonly onExit: (proc: Subprocess) => void;
}

export function spawnDirect(job: JobSpec, opts: DirectSpawnOptions): DirectOutcome {
  libc ??= openLibc();
  const dirError = checkDir(job.dir);
  if (dirError) return { ok: false, step: "dir", error: `chdir ${job.dir}: ${dirError}` };
  if (!plainStdio(job, opts.io)) return { ok: "use-helper" };
  const fds: number[] = [];
  const oldMask = libc.umask(0o022);
  const oldNofile = lowerNofile(libc);
  try {
    const open = (step: "in" | "out" | "err", flags: string): number | "pipe" | StepFailure => {
      const given = step === "in" ? opts.io.stdin : step === "out" ? opts.io.stdout : opts.io.stderr;
      if (given !== undefined) return given; // pmtr's own fd: not in `fds`, so not closed here
      const path = step === "in" ? job.in : step === "out" ? job.out : job.err;
      if (path === "syslog" && step !== "in") return "pipe";
      try {
        const fd = openSync(shownPath(job.dir, path), flags, 0o644);
        fds.push(fd);
        // As the helper does for a root job (jobs here have no `user`: pmtr's own).
        const refused = step === "in" && process.geteuid?.() === 0 ? rootInputRefusal(shownPath(job.dir, path), fstatSync(fd)) : null;
        return refused === null ? fd : { step, error: refused };
      } catch (e) {
        if (outOfFds(e)) throw e;
        return { step, error: `open ${shownPath(job.dir, path)}: ${osError(e)}` };
      }
    };
    // In order, stopping at the first failure, as the helper does.
    const stdio: Array<number | "pipe"> = [];
    try {
      for (const [step, flags] of [["in", "r"], ["out", "a"], ["err", "a"]] as const) {
        const opened = open(step, flags);
        if (typeof opened === "object") return { ok: false, ...opened };
        stdio.push(opened);
      }
    } catch {
      return { ok: "use-helper" };
    }
    try {
      const proc = Bun.spawn([...job.argv], {
        cwd: job.dir,
        env: opts.env,
        stdio: [stdio[0]!, stdio[1]!, stdio[2]!],
        detached: true,
        onExit: (p) => opts.onExit(p),
      });
      return { ok: true, proc };
    } catch (e) {
      if (outOfFds(e)) return { ok: "use-helper" };
      return { ok: false, step: "exec", error: `execve ${job.argv[0]}: ${osError(e)}` };
    }
  } finally {
    if (oldNofile !== null) libc.setrlimit(RLIMIT_NOFILE, oldNofile);
    libc.umask(oldMask);
    for (const fd of fds) closeSync(fd);
  }
}

/** Why chdir(dir) would fail, or null. Checked first so that a missing dir is reported as
 *  such: Bun reports a failed chdir and a failed exec alike as ENOENT of the program. */
function checkDir(dir: string): string | null {
  try {
    if (!statSync(dir).isDirectory()) return errnoText(ENOTDIR);
    accessSync(dir, constants.X_OK);
    return null;
  } catch (e) {
    return osError(e);
  }
}

/** True when every stdio path is /dev/null, syslog, a regular file, or an out/err file yet to be
 *  created. Anything else is opened by the helper: opening a FIFO blocks until its other end
 *  opens, and opening a terminal would make it pmtr's controlling terminal. */
function plainStdio(job: JobSpec, io: DirectSpawnOptions["io"]): boolean {
  const given = [io.stdin, io.stdout, io.stderr];
  return [job.in, job.out, job.err].every((path, i) => {
    if (given[i] !== undefined || path === "/dev/null" || path === "syslog") return true;
    try {
      return statSync(shownPath(job.dir, path)).isFile();
    } catch {
      return true; // missing: `in` fails as it would in the helper, out/err are created
    }
  });
}

const outOfFds = (e: unknown) => errnoOf(e) === EMFILE || errnoOf(e) === ENFILE;

/** Sets the soft NOFILE limit to 1024 (hard unchanged); returns the limits to restore. */
function lowerNofile(c: NonNullable<typeof libc>): BigUint64Array | null {
  const old = new BigUint64Array(2);
  if (c.getrlimit(RLIMIT_NOFILE, old) !== 0) return null;
  const soft = old[1]! < DEFAULT_NOFILE_SOFT ? old[1]! : DEFAULT_NOFILE_SOFT;
  if (old[0] === soft) return null;
  return c.setrlimit(RLIMIT_NOFILE, new BigUint64Array([soft, old[1]!])) === 0 ? old : null;
}

function errnoOf(e: unknown): number {
  const errno = (e as { errno?: unknown })?.errno;
  return typeof errno === "number" ? Math.abs(errno) : 0;
}

/** The strerror text of a Node/Bun system error, as the helper reports it. */
export function osError(e: unknown): string {
  const errno = errnoOf(e);
  return errno > 0 ? errnoText(errno) : String((e as Error)?.message ?? e);
}

export function errnoText(errno: number): string {
  libc ??= openLibc();
  const p = libc.strerror(errno);
  return p === null ? `error ${errno}` : new CString(p).toString();
}
