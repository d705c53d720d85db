// One start, as the spawn routine (spawn.c) takes it: a row of 64-bit slots holding numbers
// and addresses of buffers built here, and the failure it reports, turned back into SPEC §3's
// "step: OS error" line. Everything that allocates or asks NSS (the user, its groups) is done
// here, in pmtr, before the child exists.

import { ptr } from "bun:ffi";
import { statSync } from "node:fs";
import { isDirectory } from "../files.ts";
import type { JobSpec, Rlimit } from "../../config/model.ts";
import { errnoText, libc } from "../libc.ts";
import { envStrings, jobEnvironment, shownPath } from "./job-env.ts";
import { rootInputRefusal } from "../config/root-only.ts";
import { groupList, lookupUser, type User } from "./users.ts";

/** Slot numbers: the R_* enum of spawn.c, in the same order. */
const SLOTS = [
  "PATH", "ARGV", "ENVP", "DIR",
  "IN_PATH", "OUT_PATH", "ERR_PATH",
  "IN_FD", "OUT_FD", "ERR_FD",
  "IN_FLAGS", "OUT_FLAGS", "ERR_FLAGS",
  "SET_NICE", "NICE",
  "SET_USER", "UID", "GID", "NGROUPS", "GROUPS",
  "CPU_BYTES", "CPU_MASK",
  "NOFILE_DEFAULT",
  "NLIMITS", "LIMITS",
  "ROOT_INPUT",
  "STATUS_FD", "FAIL_STEP", "FAIL_ERRNO", "FAIL_A", "FAIL_B",
] as const;
const R = Object.fromEntries(SLOTS.map((name, i) => [name, i])) as Record<(typeof SLOTS)[number], number>;

/** spawn.c's STEP_* enum: the SPEC §3 step each names. */
const STEPS = ["none", "spawn", "spawn", "setsid", "dir", "user", "in", "out", "err", "in", "fds", "nice", "cpu", "ulimit", "user", "user", "exec"] as const;
const STEP = { PIPE: 1, CLONE: 2, SETSID: 3, DIR: 4, GROUPS: 5, IN: 6, OUT: 7, ERR: 8, IN_OWNER: 9, FDS: 10, NICE: 11, CPU: 12, ULIMIT: 13, SETGID: 14, SETUID: 15, EXEC: 16 };

const O_RDONLY = 0;
const O_WRONLY_APPEND_CREAT = 0o1 | 0o2000 | 0o100;
const ENXIO = 6;
const EACCES = 13;
const EMFILE = 24;
const ENFILE = 23;
const PRIO_PROCESS = 0;

/** Linux resource numbers (asm-generic; x86_64 and aarch64 alike). */
const RLIMIT: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};
const RLIM_INFINITY = -1n; // all ones, as the kernel's u64

export interface StdioFds {
  readonly stdin?: number;
  readonly stdout?: number;
  readonly stderr?: number;
}

export interface StepFailure {
  readonly step: string;
  readonly error: string;
}

/** A request ready for pmtr_spawn, with what is needed to explain its failure. */
export interface Request {
  readonly slots: BigInt64Array;
  /** Keeps the buffers the slots point into alive until the call. */
  readonly buffers: readonly ArrayBufferView[];
  readonly job: Pick<JobSpec, "argv" | "dir" | "in" | "out" | "err" | "nice" | "cpu" | "user">;
  readonly limits: readonly Rlimit[];
  readonly user: User | null;
}

/** The request for one start of `job`, or the step that fails before any process exists. */
export function buildRequest(
  job: JobSpec,
  io: StdioFds,
  pipes: { readonly stdout?: number; readonly stderr?: number },
): Request | StepFailure {
  const euid = process.geteuid?.() ?? 0;
  let user: User | null = null;
  let groups: Uint32Array | null = null;
  if (job.user !== null) {
    user = lookupUser(job.user);
    if (user === null) return { step: "user", error: `no such user "${job.user}" (check /etc/passwd or the job's user line)` };
    if (euid !== 0) {
      // An unprivileged pmtr may name its own user: nothing to change then.
      if (user.uid !== process.getuid?.() || user.gid !== process.getgid?.()) {
        return { step: "user", error: `pmtr runs as uid ${euid}, not root, so it cannot run a job as user ${user.name}; run pmtr as root or remove the job's user line` };
      }
    } else groups = groupList(user);
  }
  const limits = lastOfEachResource(job.ulimits);
  if (typeof limits === "string") return { step: "ulimit", error: limits };

  const slots = new BigInt64Array(SLOTS.length);
  const buffers: NodeJS.TypedArray[] = [];
  const address = (view: NodeJS.TypedArray): bigint => {
    buffers.push(view);
    return BigInt(ptr(view));
  };

  // argv and envp: every string in one buffer, then the two NULL-terminated pointer arrays.
  const env = envStrings(jobEnvironment(process.env, job.env, user));
  const strings = [...job.argv, ...env];
  const text = Buffer.from(`${strings.join("\0")}\0`, "utf8");
  const base = address(text);
  const pointers = new BigInt64Array(strings.length + 2);
  let offset = 0;
  strings.forEach((s, i) => {
    pointers[i < job.argv.length ? i : i + 1] = base + BigInt(offset);
    offset += Buffer.byteLength(s, "utf8") + 1;
  });
  const argvAddress = address(pointers);
  slots[R.PATH] = pointers[0]!;
  slots[R.ARGV] = argvAddress;
  slots[R.ENVP] = argvAddress + BigInt(8 * (job.argv.length + 1));
  slots[R.DIR] = address(Buffer.from(`${job.dir}\0`, "utf8"));

  const given = [io.stdin, io.stdout ?? pipes.stdout, io.stderr ?? pipes.stderr];
  const paths = [job.in, job.out, job.err];
  for (let i = 0; i < 3; i++) {
    const fd = given[i];
    slots[R.IN_FD + i] = BigInt(fd ?? -1);
    if (fd === undefined) slots[R.IN_PATH + i] = address(Buffer.from(`${paths[i]}\0`, "utf8"));
    slots[R.IN_FLAGS + i] = BigInt(i === 0 ? O_RDONLY : O_WRONLY_APPEND_CREAT);
  }

  // The job's nice unless it is pmtr's own: an unprivileged pmtr that was itself started
  // niced can then still start jobs that do not ask for another value.
  if (job.nice !== libc().getpriority(PRIO_PROCESS, 0)) {
    slots[R.SET_NICE] = 1n;
    slots[R.NICE] = BigInt(job.nice);
  }
  if (user !== null && groups !== null) {
    slots[R.SET_USER] = 1n;
    slots[R.UID] = BigInt(user.uid);
    slots[R.GID] = BigInt(user.gid);
    slots[R.NGROUPS] = BigInt(groups.length);
    slots[R.GROUPS] = groups.length === 0 ? 0n : address(groups);
  }
  if (job.cpu !== null) {
    // cpu_set_t: a bit mask in 64-bit words; 1024 CPUs (128 bytes) is glibc's default size.
    const words = new BigUint64Array(Math.max(16, Math.ceil((Math.max(...job.cpu) + 1) / 64)));
    for (const cpu of job.cpu) words[cpu >> 6] = words[cpu >> 6]! | (1n << BigInt(cpu & 63));
    slots[R.CPU_BYTES] = BigInt(words.byteLength);
    slots[R.CPU_MASK] = address(words);
  }
  slots[R.NOFILE_DEFAULT] = limits.some((l) => l.resource === "RLIMIT_NOFILE") ? 0n : 1n;
  if (limits.length > 0) {
    const triples = new BigInt64Array(3 * limits.length);
    limits.forEach(({ resource, value }, i) => {
      const n = value === "unlimited" ? RLIM_INFINITY : BigInt(value);
      triples.set([BigInt(RLIMIT[resource]!), n, n], 3 * i);
    });
    slots[R.NLIMITS] = BigInt(limits.length);
    slots[R.LIMITS] = address(triples);
  }
  // A job that runs as root reads only an `in` that only root can change (root-only.ts).
  slots[R.ROOT_INPUT] = euid === 0 && (user === null || user.uid === 0) && io.stdin === undefined ? 1n : 0n;
  return { slots, buffers, job, limits, user };
}


/** The step that failed and its OS error, as pmtr logs them (SPEC §3). */
export function failure(req: Request): StepFailure {
  const { slots, job, user } = req;
  const step = Number(slots[R.FAIL_STEP]);
  const errno = Number(slots[R.FAIL_ERRNO]);
  const a = Number(slots[R.FAIL_A]);
  const os = errnoText(errno);
  const name = STEPS[step] ?? "spawn";
  switch (step) {
    case STEP.PIPE:
    case STEP.CLONE:
      if (errno === EMFILE || errno === ENFILE) {
        return { step: "spawn", error: `pmtr has no file descriptors left (${os}): raise pmtr's open-files limit (ulimit -n, LimitNOFILE=) or run fewer jobs` };
      }
      return { step: "spawn", error: `${step === STEP.PIPE ? "pipe2" : "clone"}: ${os}` };
    case STEP.SETSID: return { step: name, error: `setsid: ${os}` };
    case STEP.DIR: return { step: name, error: `chdir ${job.dir}: ${os}` };
    case STEP.GROUPS: return { step: name, error: `setgroups ${user?.name}: ${os}` };
    case STEP.IN:
    case STEP.OUT:
    case STEP.ERR: {
      const path = shownPath(job.dir, [job.in, job.out, job.err][step - STEP.IN]!);
      // O_NONBLOCK turned "wait for a reader" into ENXIO (a device without a driver says so too).
      const fifo = errno === ENXIO && step !== STEP.IN && isFifo(path);
      // The files are opened as the job's user (SPEC §3, §10): name it, since root could.
      const as = user ? ` as user ${user.name}` : "";
      return { step: name, error: `open ${path}${as}: ${fifo ? "FIFO has no reader" : os}` };
    }
    case STEP.IN_OWNER:
      return { step: name, error: rootInputRefusal(shownPath(job.dir, job.in), { uid: a, mode: Number(slots[R.FAIL_B]) }) ?? "refused" };
    case STEP.FDS: return { step: name, error: `fd ${a}: ${os}` };
    case STEP.NICE: return { step: name, error: `setpriority ${job.nice}: ${os}` };
    case STEP.CPU: return { step: name, error: `sched_setaffinity ${job.cpu?.join(",")}: ${os}` };
    case STEP.ULIMIT: {
      if (a < 0) return { step: name, error: `setrlimit RLIMIT_NOFILE 1024: ${os}` };
      const limit = req.limits[a]!;
      return { step: name, error: `setrlimit ${limit.resource} ${limit.value}: ${os}` };
    }
    case STEP.SETGID: return { step: name, error: `setgid ${user?.gid}: ${os}` };
    case STEP.SETUID: return { step: name, error: `setuid ${user?.uid}: ${os}` };
    case STEP.EXEC: {
      // execve says EACCES for a directory, which reads as a permission problem: say what it is.
      const dir = errno === EACCES && isDirectory(job.argv[0] ?? "");
      return { step: name, error: `execve ${job.argv[0]}: ${dir ? "Is a directory (cmd must name a program file)" : os}` };
    }
    default: return { step: "spawn", error: `step ${step}: ${os}` };
  }
}

/** pmtr.conf(5): a later `ulimit` of the same resource wins. */
function lastOfEachResource(ulimits: readonly Rlimit[]): Rlimit[] | string {
  const byResource = new Map<string, Rlimit>();
  for (const limit of ulimits) {
    if (RLIMIT[limit.resource] === undefined) return `unknown resource ${limit.resource}`;
    byResource.delete(limit.resource);
    byResource.set(limit.resource, limit);
  }
  return [...byResource.values()];
}

function isFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false;
  }
}
