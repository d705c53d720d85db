// Reads the jobs' output pipes into one reused buffer (SPEC §13; issue 14). Bun's only
// readiness wait for an arbitrary fd is a stream that reads it, with a fresh buffer per read:
// at hundreds of MB/s that left 25-35 MB of garbage in pmtr's RSS (docs/PERFORMANCE.md). So a
// small thread compiled with cc() (reader.c) waits in epoll on the pipes, each armed once
// (EPOLLONESHOT), and hands the ready fds to JS through one wake-up pipe read by a stream (a
// few bytes per wake-up); JS reads each ready pipe itself with a synchronous read into the
// buffer, until it is empty, and re-arms it.
//
// The thread runs while at least one pipe is watched: it is started for the first and
// stopped when the last one is done (a stopping thread finishes on its own; a pipe watched
// meanwhile gets a new thread), so a pmtr without captured output has none.

import { dlopen, ptr, type Pointer } from "bun:ffi";
import { libcPath } from "../libc-path.ts";
import { errnoText, libc } from "../libc.ts";
import { compileText, functionPointer } from "../spawn/compile.ts";
import source from "./reader.c" with { type: "text" };
import { openWakePipe } from "./pipe.ts";

const EAGAIN = 11;
const EINTR = 4;
/** How often a pump polls its pipe should the thread have died (never seen). */
const DEAD_POLL_MS = 10;
/** One read of a pipe, at most: a quarter of the 1 MiB pipe (pipe.ts). */
export const READ_BUFFER_BYTES = 256 << 10;

function compile() {
  const lib = compileText("pmtr-reader.c", source, {
    pmtr_reader_init: { args: ["ptr", "ptr", "ptr", "ptr"], returns: "void" },
    pmtr_reader_start: { args: ["ptr"], returns: "i64" },
    pmtr_reader_epoll: { args: [], returns: "i64" },
    pmtr_reader_eventfd: { args: [], returns: "i64" },
    pmtr_reader_add: { args: ["i64", "i64", "i64"], returns: "i64" },
    pmtr_reader_arm: { args: ["i64", "i64"], returns: "i64" },
    pmtr_reader_remove: { args: ["i64", "i64"], returns: "i64" },
    pmtr_reader_stop: { args: ["i64"], returns: "i64" },
    pmtr_reader_bytes: { args: [], returns: "i64" },
    pmtr_read: { args: ["i64", "ptr", "i64"], returns: "i64" },
    pmtr_close: { args: ["i64"], returns: "i64" },
  });
  const threads = openPthreads();
  const c = libc();
  lib.symbols.pmtr_reader_init(
    functionPointer(c.syscall),
    functionPointer(c.__errno_location),
    functionPointer(threads.pthread_create),
    functionPointer(threads.pthread_detach),
  );
  return lib.symbols;
}

/** pthread_create and pthread_detach: in libc itself since glibc 2.34 (and always in musl), in
 *  libpthread.so.0 before (Debian 11, Ubuntu 20.04). Not in libc.ts's binding, whose dlopen
 *  would fail as a whole on such a libc for want of them. */
function openPthreads() {
  const symbols = {
    pthread_create: { args: ["ptr", "ptr", "ptr", "ptr"], returns: "i32" },
    pthread_detach: { args: ["u64"], returns: "i32" },
  } as const;
  try {
    return dlopen(libcPath(), symbols).symbols;
  } catch (inLibc) {
    try {
      return dlopen("libpthread.so.0", symbols).symbols;
    } catch {
      throw inLibc;
    }
  }
}

/** Set to "stream" in pmtr's environment to read captured output without the thread. */
const READER_OPT_OUT = "PMTR_OUTPUT_READER";

let compiled: ReturnType<typeof compile> | undefined;
const routine = () => (compiled ??= compile());

/** The shared read buffer and its address, made once. Safe to share: a sink takes the bytes
 *  before its write returns (output-pump.ts), and nothing awaits between a read and that. */
let buffer: Uint8Array | undefined;
let bufferPtr: Pointer | null = null;

const errnoError = (what: string, rc: number) => Object.assign(new Error(`${what}: ${errnoText(-rc)}`), { errno: -rc });

/** One thread and its epoll set, from its first watched pipe until it stops. */
class ReaderThread {
  private readonly epollFd: number;
  private readonly stopFd: number;
  private readonly wakeFd: number;
  /** The thread's own memory (struct reader): kept here until the thread has exited. */
  private readonly memory: Uint8Array;
  private readonly waiters = new Map<number, () => void>();
  /** Reported before anybody waited (a wake-up racing the first wait, or a reused fd number). */
  private readonly early = new Set<number>();
  private watched = 0;
  /** Asked to stop (the wake-up pipe's end-of-file is then expected). */
  private stopped = false;
  /** The thread ended unasked: readable() polls. */
  private dead = false;

  constructor() {
    const r = routine();
    const epollFd = Number(r.pmtr_reader_epoll());
    if (epollFd < 0) throw errnoError("epoll_create1", epollFd);
    const stopFd = Number(r.pmtr_reader_eventfd());
    if (stopFd < 0) {
      r.pmtr_close(epollFd);
      throw errnoError("eventfd", stopFd);
    }
    let wake: { readFd: number; writeFd: number };
    try {
      wake = openWakePipe();
    } catch (e) {
      r.pmtr_close(epollFd);
      r.pmtr_close(stopFd);
      throw e;
    }
    this.epollFd = epollFd;
    this.stopFd = stopFd;
    this.wakeFd = wake.readFd;
    this.memory = new Uint8Array(Number(r.pmtr_reader_bytes()));
    const slots = new BigInt64Array(this.memory.buffer, 0, 3);
    slots[0] = BigInt(epollFd);
    slots[1] = BigInt(stopFd);
    slots[2] = BigInt(wake.writeFd);
    const added = Number(r.pmtr_reader_add(epollFd, stopFd, -1));
    const started = added === 0 ? Number(r.pmtr_reader_start(this.memory)) : 0;
    if (added !== 0 || started !== 0) {
      for (const fd of [epollFd, stopFd, wake.readFd, wake.writeFd]) r.pmtr_close(fd);
      throw added !== 0 ? errnoError("epoll_ctl", added) : errnoError("pthread_create", started);
    }
    running.add(this);
    // (A thread that ended unasked is kept: it may not have ended after all.)
    void this.listen().finally(() => this.dead || running.delete(this));
  }

  /** Takes the ready fds from the wake-up pipe until the thread closes it. */
  private async listen(): Promise<void> {
    let rest = new Uint8Array(0);
    try {
      for await (const chunk of Bun.file(this.wakeFd).stream()) {
        let bytes = chunk;
        if (rest.length > 0) {
          bytes = new Uint8Array(rest.length + chunk.length);
          bytes.set(rest);
          bytes.set(chunk, rest.length);
        }
        const whole = bytes.length - (bytes.length % 4);
        const view = new DataView(bytes.buffer, bytes.byteOffset, whole);
        for (let i = 0; i < whole; i += 4) this.wake(view.getInt32(i, true));
        rest = bytes.slice(whole);
      }
    } catch {}
    if (!this.stopped) {
      // Not asked to stop: the thread or its pipe failed (not seen; epoll_pwait cannot fail on
      // these fds). No pump may hang on it: they poll from now on, and the fds go with the last.
      this.dead = true;
      if (current === this) current = null;
      for (const wake of this.waiters.values()) wake();
      this.waiters.clear();
      return;
    }
    this.closeFds(); // the thread is gone (it closed the write end): now its fds can go
  }

  private closeFds(): void {
    const r = routine();
    r.pmtr_close(this.epollFd);
    r.pmtr_close(this.stopFd);
    r.pmtr_close(this.wakeFd);
  }

  private wake(fd: number): void {
    const waiter = this.waiters.get(fd);
    if (waiter === undefined) return void this.early.add(fd);
    this.waiters.delete(fd);
    waiter();
  }

  /** Starts watching `fd` (armed: its first readiness is reported). */
  add(fd: number): void {
    const rc = Number(routine().pmtr_reader_add(this.epollFd, fd, fd));
    if (rc !== 0) {
      if (this.watched === 0) this.stop();
      throw errnoError(`watching fd ${fd}`, rc);
    }
    this.watched++;
  }

  /** Re-arms `fd` and resolves once it is readable (or at its end). */
  readable(fd: number): Promise<void> {
    if (this.dead) return Bun.sleep(DEAD_POLL_MS);
    const rc = Number(routine().pmtr_reader_arm(this.epollFd, fd));
    if (rc !== 0) return Promise.reject(errnoError(`re-arming fd ${fd}`, rc));
    if (this.early.delete(fd)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(fd, resolve));
  }

  /** Stops watching `fd` (before it is closed); the last one stops the thread. */
  remove(fd: number): void {
    routine().pmtr_reader_remove(this.epollFd, fd);
    this.waiters.delete(fd);
    this.early.delete(fd);
    if (--this.watched === 0) this.stop();
  }

  private stop(): void {
    if (current === this) current = null;
    if (this.dead) return this.closeFds();
    this.stopped = true;
    routine().pmtr_reader_stop(this.stopFd);
  }
}

let current: ReaderThread | null = null;
/** Every thread until its end is seen: what keeps its memory reachable while it may use it. */
const running = new Set<ReaderThread>();

/** A watched pipe read end (non-blocking): read() into the shared buffer, readable() to wait,
 *  close() when done. Throws if the reader thread cannot be started, with the reason. */
export interface WatchedFd {
  /** Bytes read into `readBuffer()` (0 at end-of-file), or -1 when the pipe is empty for now. */
  read(): number;
  readable(): Promise<void>;
  close(): void;
}

export function readBuffer(): Uint8Array {
  if (buffer === undefined) {
    buffer = new Uint8Array(READ_BUFFER_BYTES);
    bufferPtr = ptr(buffer);
  }
  return buffer;
}

export function watchFd(fd: number): WatchedFd {
  // An operator's way around the thread, should it ever misbehave on some host: the pumps
  // then read with Bun's stream, as when the thread cannot start (README, rotate).
  if (process.env[READER_OPT_OUT] === "stream") throw new Error(`switched off by ${READER_OPT_OUT}=stream`);
  readBuffer();
  if (current === null) current = new ReaderThread();
  const thread = current;
  thread.add(fd);
  const r = routine();
  let closed = false;
  return {
    read() {
      for (;;) {
        const n = Number(r.pmtr_read(fd, bufferPtr, READ_BUFFER_BYTES));
        if (n >= 0) return n;
        if (-n === EINTR) continue;
        if (-n === EAGAIN) return -1;
        throw errnoError(`reading fd ${fd}`, n);
      }
    },
    readable: () => thread.readable(fd),
    close() {
      if (closed) return;
      closed = true;
      thread.remove(fd);
      r.pmtr_close(fd);
    },
  };
}
