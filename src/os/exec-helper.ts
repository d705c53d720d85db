// `pmtr --exec-helper`: the last stretch between fork and exec of a job. Bun.spawn cannot run
// code in the child before exec, and doing nice/affinity/rlimits/setuid from the parent after
// the fact races the job, so pmtr spawns its own binary in this mode (detached: the helper,
// and so the job, leads a new session and process group) and the helper applies the job's
// context to itself, step by step in SPEC §3's order, then execve's the job in place: same
// pid. A failed step is reported as "STEP<TAB>MESSAGE" on the status fd (see exec-protocol.ts).
//
// main.ts dispatches here before importing anything else; this module loads only bun:ffi and
// libc, so a helper costs one Bun start-up (see test/bench/spawn.ts for the figures).

import { fstatSync, readdirSync } from "node:fs";
import * as libc from "./exec-libc.ts";
import { decodeSettings, encodeFailure, HELPER_FAILED, SETTINGS_VAR, shownPath, STATUS_FD, type ExecSettings, type StepFailure } from "./exec-protocol.ts";
import { envStrings, jobEnvironment } from "./job-env.ts";
import { rootInputRefusal } from "./root-only.ts";
import { lookupUser, type User } from "./users.ts";

/** Linux resource numbers (asm-generic; x86_64 and aarch64 alike). */
const RLIMIT: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};
/** A job's soft open-files limit unless it sets `ulimit -n`. Bun raises its own soft limit to
 *  the hard one; daemons that loop over every possible fd or use select() must not inherit that. */
export const DEFAULT_NOFILE_SOFT = 1024n;

/** Returns only on failure, with the exit code; on success the job has replaced this process. */
export async function runExecHelper(args: readonly string[]): Promise<number> {
  const text = process.env[SETTINGS_VAR];
  if (args.length > 0 || text === undefined) {
    process.stderr.write("pmtr: --exec-helper is internal: pmtr runs it to start a job (run pmtr -h for usage)\n");
    return 2;
  }
  let settings: ExecSettings;
  try {
    settings = decodeSettings(text);
  } catch (e) {
    return fail({ step: "settings", error: `unreadable job settings from pmtr: ${String(e)}` });
  }
  const failure = startJob(settings);
  return fail(failure);
}

function fail(failure: StepFailure): number {
  libc.writeAll(STATUS_FD, encodeFailure(failure));
  return HELPER_FAILED;
}

/** Each step in order; returns the first failure (a successful execve never returns). */
function startJob(job: ExecSettings): StepFailure {
  // Everything that allocates much or loads libraries (NSS for the user) is done first; the
  // job's rlimits are set last of all (see setLimits).
  let user: User | null = null;
  if (job.user !== null) {
    user = lookupUser(job.user);
    if (user === null) return { step: "user", error: `no such user "${job.user}" (check /etc/passwd or the job's user line)` };
  }
  const exec = libc.prepareExecve(job.argv, envStrings(jobEnvironment(baseEnvironment(), job.env, user)));
  const limits = prepareLimits(job);
  if (typeof limits === "string") return { step: "ulimit", error: limits };

  libc.setUmask(0o022);
  const step = (name: string, error: string | null): StepFailure | null => (error === null ? null : { step: name, error });
  let failed = step("dir", prefixed(`chdir ${job.dir}`, libc.chdir(job.dir)));
  failed ??= step("nice", prefixed(`setpriority ${job.nice}`, libc.setNice(job.nice)));
  if (job.cpu !== null) failed ??= step("cpu", prefixed(`sched_setaffinity ${job.cpu.join(",")}`, libc.setAffinity(job.cpu)));
  failed ??= step("ulimit", raiseLimits(limits));
  if (user !== null) failed ??= step("user", becomeUser(user));
  // Opened after setuid, so the job's user needs the right to its files (SPEC §3).
  failed ??= step("in", openOnto(job, job.in, libc.O_RDONLY, 0));
  failed ??= step("in", checkRootInput(job));
  failed ??= step("out", openOnto(job, job.out, libc.O_WRONLY | libc.O_APPEND | libc.O_CREAT, 1));
  failed ??= step("err", openOnto(job, job.err, libc.O_WRONLY | libc.O_APPEND | libc.O_CREAT, 2));
  failed ??= step("fds", libc.cloexecFrom(3, listFds));
  // Signals last, not first as SPEC §3 lists them: the helper is still a running Bun, whose
  // runtime relies on its own handlers until the very end. The job sees the same result.
  failed ??= step("signals", libc.resetSignals());
  failed ??= step("ulimit", setLimits(limits));
  return failed ?? { step: "exec", error: `execve ${job.argv[0]}: ${exec()}` };
}

function prefixed(what: string, error: string | null): string | null {
  return error === null ? null : `${what}: ${error}`;
}

/** One `ulimit` of the job, with the [soft, hard] pair that will set it, built beforehand. */
interface Limit {
  readonly resource: string;
  readonly value: number | "unlimited";
  readonly number: number;
  readonly pair: BigUint64Array;
}

/** The job's limits, the last setting of each resource only (pmtr.conf(5): a later setting of
 *  the same resource wins; applying each in turn could not lower one and raise it again once
 *  setuid has dropped the privilege to raise). */
function prepareLimits(job: ExecSettings): Limit[] | string {
  const byResource = new Map<number, Limit>();
  for (const { resource, value } of job.ulimits) {
    const number = RLIMIT[resource];
    if (number === undefined) return `unknown resource ${resource}`;
    const limit = value === "unlimited" ? libc.RLIM_INFINITY : BigInt(value);
    byResource.set(number, { resource, value, number, pair: new BigUint64Array([limit, limit]) });
  }
  return [...byResource.values()];
}

/** SPEC §3's `ulimit` step, in its place before setuid: the soft open-files limit back to 1024
 *  (hard unchanged), and every hard limit a `ulimit` raises raised now, while pmtr's privilege
 *  lasts. The soft limits (and hard ones that are lowered, which needs no privilege) wait for
 *  setLimits. */
function raiseLimits(limits: readonly Limit[]): string | null {
  const nofile = libc.getRlimit(RLIMIT.RLIMIT_NOFILE!);
  if (typeof nofile === "string") return `getrlimit RLIMIT_NOFILE: ${nofile}`;
  const soft = nofile.hard < DEFAULT_NOFILE_SOFT ? nofile.hard : DEFAULT_NOFILE_SOFT;
  const err = libc.setRlimit(RLIMIT.RLIMIT_NOFILE!, soft, nofile.hard);
  if (err) return `setrlimit RLIMIT_NOFILE ${soft}: ${err}`;
  for (const { resource, value, number, pair } of limits) {
    const now = libc.getRlimit(number);
    if (typeof now === "string") return `getrlimit ${resource}: ${now}`;
    if (pair[1]! <= now.hard) continue;
    const error = libc.setRlimit(number, now.soft, pair[1]!);
    if (error) return `setrlimit ${resource} ${value}: ${error}`;
  }
  return null;
}

/** Each `ulimit` as soft = hard, just before execve. From here on the
 *  limits bind this Bun process too: under a low RLIMIT_AS or RLIMIT_DATA its next mmap, by any
 *  of its threads, fails and Bun aborts (1 start in 40 under a 64 MB RLIMIT_AS when this was done
 *  before setuid). So it runs as late as it can, and allocates nothing. */
function setLimits(limits: readonly Limit[]): string | null {
  for (let i = 0; i < limits.length; i++) {
    const { resource, value, number, pair } = limits[i]!;
    const error = libc.setRlimitPair(number, pair);
    if (error) return `setrlimit ${resource} ${value}: ${error}`;
  }
  return null;
}

/** setgid, initgroups, setuid: in this order, since after setuid the rest is not permitted. */
function becomeUser(user: User): string | null {
  // An unprivileged pmtr may name its own user; initgroups would be refused, and is not needed.
  if (process.geteuid?.() !== 0 && process.getuid?.() === user.uid && process.getgid?.() === user.gid) return null;
  if (process.geteuid?.() !== 0) {
    return `pmtr runs as uid ${process.geteuid?.()}, not root, so it cannot run a job as user ${user.name}; run pmtr as root or remove the job's user line`;
  }
  return (
    prefixed(`setgid ${user.gid}`, libc.setgid(user.gid)) ??
    prefixed(`initgroups ${user.name} ${user.gid}`, libc.initgroups(user.name, user.gid)) ??
    prefixed(`setuid ${user.uid}`, libc.setuid(user.uid))
  );
}

/** Open `path` (relative to the job's dir, which is the cwd now) onto `target`. */
function openOnto(job: ExecSettings, path: string, flags: number, target: number): string | null {
  // `syslog`: pmtr already put a pipe it reads on this fd; so it did for an fd it passed.
  if ((path === "syslog" && target > 0) || job.given[target] === true) return null;
  return prefixed(`open ${shownPath(job.dir, path)}`, libc.openAs(target, path, flags, 0o644));
}

/** A job that is root now (no `user`, or `user root`) reads only an `in` file that only root
 *  can change (root-only.ts). Checked on the open fd 0, so what is checked is what is read. */
function checkRootInput(job: ExecSettings): string | null {
  if (process.geteuid?.() !== 0 || job.given[0] === true) return null;
  try {
    return rootInputRefusal(shownPath(job.dir, job.in), fstatSync(0));
  } catch (e) {
    return `fstat ${shownPath(job.dir, job.in)}: ${String(e)}`;
  }
}

function listFds(): number[] {
  return readdirSync("/proc/self/fd").map(Number);
}

function baseEnvironment(): Record<string, string | undefined> {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base[SETTINGS_VAR];
  return base;
}
