// The libc calls the exec helper makes between "fork" (Bun.spawn of the helper) and execve of
// the job, and the two pmtr itself needs at start (ignoreSignal, lockExclusive): one binding,
// not one dlopen block per use. pmtr's own process never calls setuid or execve.
// Every wrapper returns an OS error text (strerror) instead of throwing, so each step of the
// helper can name itself and the value in one line.

import { dlopen, ptr, read, CString } from "bun:ffi";
import { libcPath } from "./libc-path.ts";

/** Linux values, the same on x86_64 and aarch64 (glibc and musl). */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_CREAT = 0o100;
export const O_APPEND = 0o2000;
const SIG_SETMASK = 2;
const SIG_IGN = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const CLOSE_RANGE_CLOEXEC = 4;
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
/** sizeof(struct sigaction) is 152 on glibc x86_64; 256 zero bytes cover every libc. A zeroed
 *  struct is SIG_DFL with an empty mask and no flags. */
const SIGACTION_BYTES = 256;
/** The kernel's sigset is 8 bytes, glibc's 128: a zeroed 128-byte set is empty for both. */
const SIGSET_BYTES = 128;

function openLibc() {
  return dlopen(libcPath(), {
    __errno_location: { args: [], returns: "ptr" },
    strerror: { args: ["i32"], returns: "ptr" },
    umask: { args: ["u32"], returns: "u32" },
    chdir: { args: ["ptr"], returns: "i32" },
    setpriority: { args: ["i32", "u32", "i32"], returns: "i32" },
    sched_setaffinity: { args: ["i32", "u64", "ptr"], returns: "i32" },
    getrlimit: { args: ["i32", "ptr"], returns: "i32" },
    setrlimit: { args: ["i32", "ptr"], returns: "i32" },
    setgid: { args: ["u32"], returns: "i32" },
    initgroups: { args: ["ptr", "u32"], returns: "i32" },
    setuid: { args: ["u32"], returns: "i32" },
    open: { args: ["ptr", "i32", "u32"], returns: "i32" },
    dup2: { args: ["i32", "i32"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
    sigaction: { args: ["i32", "ptr", "ptr"], returns: "i32" },
    sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
    write: { args: ["i32", "ptr", "u64"], returns: "i64" },
    execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
  }).symbols;
}

/** close_range(2) came with glibc 2.34 and is absent from musl: looked up on its own so its
 *  absence only selects the slower /proc/self/fd walk. */
function openCloseRange() {
  try {
    return dlopen(libcPath(), { close_range: { args: ["u32", "u32", "i32"], returns: "i32" } }).symbols.close_range;
  } catch {
    return null;
  }
}

const libc = openLibc();

/** A NUL-terminated copy of `s` for a `const char *` argument. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** The text of the current errno, e.g. "No such file or directory". */
function lastError(): string {
  const p = libc.__errno_location();
  const errno = p === null ? 0 : read.i32(p, 0);
  return errnoText(errno);
}

export function errnoText(errno: number): string {
  const text = libc.strerror(errno);
  return text === null ? `error ${errno}` : new CString(text).toString();
}

/** null on success, else the OS error text. */
type Result = string | null;
const check = (rc: number | bigint): Result => (rc === -1 || rc === -1n ? lastError() : null);

export const setUmask = (mask: number): void => void libc.umask(mask);
export const chdir = (dir: string): Result => check(libc.chdir(cstr(dir)));
export const setNice = (nice: number): Result => check(libc.setpriority(0 /* PRIO_PROCESS */, 0, nice));

export function setAffinity(cpus: readonly number[]): Result {
  // cpu_set_t is a bit mask in 64-bit words; 1024 CPUs (128 bytes) is glibc's default size.
  const words = new BigUint64Array(Math.max(16, Math.ceil((Math.max(...cpus) + 1) / 64)));
  for (const cpu of cpus) words[cpu >> 6] = words[cpu >> 6]! | (1n << BigInt(cpu & 63));
  return check(libc.sched_setaffinity(0, words.byteLength, words));
}

export function getRlimit(resource: number): { soft: bigint; hard: bigint } | string {
  const pair = new BigUint64Array(2);
  const err = check(libc.getrlimit(resource, pair));
  return err ?? { soft: pair[0]!, hard: pair[1]! };
}

/** `null` for a value means RLIM_INFINITY. */
export function setRlimit(resource: number, soft: bigint | null, hard: bigint | null): Result {
  return setRlimitPair(resource, new BigUint64Array([soft ?? RLIM_INFINITY, hard ?? RLIM_INFINITY]));
}

/** setrlimit with a [soft, hard] pair built beforehand: allocates nothing unless it fails. */
export const setRlimitPair = (resource: number, pair: BigUint64Array): Result => check(libc.setrlimit(resource, pair));

export const setgid = (gid: number): Result => check(libc.setgid(gid));
export const initgroups = (name: string, gid: number): Result => check(libc.initgroups(cstr(name), gid));
export const setuid = (uid: number): Result => check(libc.setuid(uid));

/** Opens `path` as fd `target`: closing it first makes it the lowest free fd (those below are
 *  open), so no other fd is needed, even under a job's `ulimit -n 4`. */
export function openAs(target: number, path: string, flags: number, mode = 0o644): Result {
  libc.close(target);
  const fd = libc.open(cstr(path), flags, mode);
  if (fd === -1) return lastError();
  return moveFd(fd, target);
}

/** Put `fd` at `target` (dup2 clears close-on-exec there) and close the original. */
export function moveFd(fd: number, target: number): Result {
  if (fd === target) return null;
  const err = check(libc.dup2(fd, target));
  libc.close(fd);
  return err;
}

const closeRange = openCloseRange();

/** Mark every fd from `first` up close-on-exec: whatever the helper or pmtr inherited or opened
 *  ends at execve, without closing anything the running helper still needs (its status fd). */
export function cloexecFrom(first: number, listFds: () => number[]): Result {
  if (closeRange !== null && closeRange(first, 0xffff_ffff, CLOSE_RANGE_CLOEXEC) === 0) return null;
  // Kernels before 5.11 or a libc without the wrapper: walk the open fds instead.
  for (const fd of listFds()) {
    if (fd >= first && libc.fcntl(fd, F_SETFD, FD_CLOEXEC) === -1) return `fd ${fd}: ${lastError()}`;
  }
  return null;
}

/** Every ignored signal back to SIG_DFL and the signal mask emptied. Caught signals need no
 *  reset: execve resets handlers itself, but keeps ignored dispositions and the mask. */
export function resetSignals(): Result {
  const dfl = new Uint8Array(SIGACTION_BYTES);
  const old = new Uint8Array(SIGACTION_BYTES);
  for (let sig = 1; sig <= 64; sig++) {
    // SIGKILL/SIGSTOP and libc-internal signals refuse sigaction (EINVAL). The latter come
    // from pmtr already at SIG_DFL: createSpawner restored them (inherited-signals.ts).
    if (libc.sigaction(sig, null, old) !== 0) continue;
    if (read.u64(ptr(old), 0) === BigInt(SIG_IGN) && libc.sigaction(sig, dfl, null) !== 0) return `signal ${sig}: ${lastError()}`;
  }
  return check(libc.sigprocmask(SIG_SETMASK, new Uint8Array(SIGSET_BYTES), null));
}

/** `sig` to SIG_IGN in this process. For the signals a `process.on` handler cannot keep from
 *  killing pmtr (SPEC §11); jobs still start with SIG_DFL (resetSignals, Bun.spawn). */
export function ignoreSignal(sig: number): Result {
  const ign = new BigUint64Array(SIGACTION_BYTES / 8);
  ign[0] = BigInt(SIG_IGN); // sa_handler comes first in every libc's struct sigaction
  return check(libc.sigaction(sig, ign, null));
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/** flock(fd, LOCK_EX | LOCK_NB): null once held, "busy" while another open file holds it, else
 *  the OS error text. The lock lasts as long as the open file: until close or process death. */
export function lockExclusive(fd: number): Result | "busy" {
  if (libc.flock(fd, LOCK_EX | LOCK_NB) === 0) return null;
  const p = libc.__errno_location();
  const errno = p === null ? 0 : read.i32(p, 0);
  return errno === EWOULDBLOCK ? "busy" : errnoText(errno);
}

/** Best effort: the status channel may be gone if pmtr died. */
export function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  libc.write(fd, bytes, bytes.length);
}

/** Builds execve's arguments now, so that the call itself allocates nothing (it may run under
 *  the job's RLIMIT_AS); the returned function returns only on failure, with the OS error. */
export function prepareExecve(argv: readonly string[], env: readonly string[]): () => string {
  // All strings in one buffer (one allocation, not one per string); the closure keeps it
  // referenced, since the pointer arrays hold raw addresses into it.
  const strings = [...argv, ...env];
  const block = Buffer.from(`${strings.join("\0")}\0`, "utf8");
  const base = BigInt(ptr(block));
  const pointers = new BigUint64Array(strings.length + 2); // argv, NULL, env, NULL
  let offset = 0;
  strings.forEach((s, i) => {
    pointers[i < argv.length ? i : i + 1] = base + BigInt(offset);
    offset += Buffer.byteLength(s, "utf8") + 1;
  });
  const argvp = pointers.subarray(0, argv.length + 1);
  const envp = pointers.subarray(argv.length + 1);
  return () => {
    libc.execve(block, argvp, envp);
    return lastError();
  };
}
