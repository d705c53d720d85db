// The one binding of libc: every libc function pmtr calls is declared here, opened on first
// use (a command like `pmtr status` never opens it) as one library for every module —
// spawning, reaping, users, signals, the instance lock, inotify, sockets, daemonizing.
// Modules keep their own constants and wrappers; the signatures, errno and its text live here.

import { CString, dlopen, read } from "bun:ffi";
import { libcPath } from "./libc-path.ts";

function open() {
  return dlopen(libcPath(), {
    // Passed to the spawn routine as pointers (spawn/compile.ts), never called from here.
    syscall: { args: ["i64"], returns: "i64" },
    clone: { args: ["ptr"], returns: "i32" },
    __errno_location: { args: [], returns: "ptr" },
    strerror: { args: ["i32"], returns: "ptr" },
    memfd_create: { args: ["ptr", "u32"], returns: "i32" },
    write: { args: ["i32", "ptr", "u64"], returns: "i64" },
    close: { args: ["i32"], returns: "i32" },
    pipe2: { args: ["ptr", "i32"], returns: "i32" },
    getpriority: { args: ["i32", "u32"], returns: "i32" },
    getpwnam: { args: ["ptr"], returns: "ptr" },
    getpwuid: { args: ["u32"], returns: "ptr" },
    getgrouplist: { args: ["ptr", "u32", "ptr", "ptr"], returns: "i32" },
    prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
    waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
    sigaction: { args: ["i32", "ptr", "ptr"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    // runtime-threads.ts: pmtr executes itself again with the runtime's options.
    execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
    // daemon.ts: stdio onto /dev/null when detaching.
    dup2: { args: ["i32", "i32"], returns: "i32" },
    // watch/: inotify, and a read lease to tell whether a file is open for writing.
    inotify_init1: { args: ["i32"], returns: "i32" },
    inotify_add_watch: { args: ["i32", "ptr", "u32"], returns: "i32" },
    inotify_rm_watch: { args: ["i32", "i32"], returns: "i32" },
    fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
    // unix-dgram.ts, notify/socket.ts, stderr-writer.ts: datagram sockets pmtr sends on or
    // receives from without blocking, and a stderr that is a socket.
    socket: { args: ["i32", "i32", "i32"], returns: "i32" },
    bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
    recvmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
    sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i64" },
    send: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
    // sd-notify.ts: the monotonic clock of systemd's MONOTONIC_USEC.
    clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
    // local-time.ts: syslog's and -l's timestamps without ICU's time zones.
    localtime_r: { args: ["ptr", "ptr"], returns: "ptr" },
    // log/fs-identity.ts: a job's rotated files created and renamed as its user.
    setfsuid: { args: ["u32"], returns: "i32" },
    setfsgid: { args: ["u32"], returns: "i32" },
  }).symbols;
}

let symbols: ReturnType<typeof open> | undefined;

export function libc(): ReturnType<typeof open> {
  symbols ??= open();
  return symbols;
}

/** errno after a libc call that failed. */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

/** open(2)/pipe2(2) flag, the same on x86_64 and aarch64. Bun's node:fs `constants` has no
 *  O_CLOEXEC (Bun sets it on every fd it opens; an explicit flag says so where it matters). */
export const O_CLOEXEC = 0o2000000;

/** strerror's text, e.g. "No such file or directory"; the one errno-to-text of pmtr. */
export function errnoText(errno: number): string {
  const p = libc().strerror(errno);
  return p === null ? `error ${errno}` : new CString(p).toString();
}

/** A NUL-terminated copy of `s` for a `const char *` argument. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** The strerror text of a Node/Bun system error (its errno), else its message. */
export function osError(e: unknown): string {
  const errno = (e as { errno?: unknown })?.errno;
  return typeof errno === "number" && errno !== 0 ? errnoText(Math.abs(errno)) : String((e as Error)?.message ?? e);
}

/** sizeof(struct sigaction) is 152 on glibc x86_64; 256 bytes cover every libc. */
const SIGACTION_BYTES = 256;
const SIG_IGN = 1n;

/** `sig` to SIG_IGN in this process, or the OS error text. For the signals a `process.on`
 *  handler cannot keep from killing pmtr (SPEC §11); jobs still start with SIG_DFL (spawn.c). */
export function ignoreSignal(sig: number): string | null {
  const ign = new BigUint64Array(SIGACTION_BYTES / 8);
  ign[0] = SIG_IGN; // sa_handler comes first in every libc's struct sigaction
  return libc().sigaction(sig, ign, null) === 0 ? null : errnoText(lastErrno());
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/** flock(fd, LOCK_EX | LOCK_NB): null once held, "busy" while another open file holds it, else
 *  the OS error text. The lock lasts as long as the open file: until close or process death. */
export function lockExclusive(fd: number): string | null | "busy" {
  if (libc().flock(fd, LOCK_EX | LOCK_NB) === 0) return null;
  const errno = lastErrno();
  return errno === EWOULDBLOCK ? "busy" : errnoText(errno);
}
