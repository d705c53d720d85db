// pmtr's writes to its stderr, which must never block the event loop: a stderr nobody reads
// (`pmtr -F 2>pipe`, a stalled container log driver or journald) would otherwise stop every
// restart, every `pmtr status` answer and SIGTERM with it (issue 12, fault 2). Lines stderr
// does not take at once wait in a bounded queue, retried on a timer; beyond the bound they are
// dropped and counted, and the count is written as soon as stderr takes lines again.
//
// fd 2 itself is never made non-blocking: O_NONBLOCK belongs to the open file description,
// which pmtr shares with whoever started it (a shell, other processes of the same pipeline),
// and they would start getting EAGAIN. Instead, by what fd 2 is:
// - a pipe or FIFO, a terminal, a character device: opened again through /proc/self/fd/2,
//   which makes a new open file description of the same pipe or device, non-blocking, ours
//   alone;
// - a socket (journald's stream, a container runtime's): that cannot be opened again, so each
//   write is a send(2) with MSG_DONTWAIT, non-blocking for that call only;
// - a regular file: written as it is (a file does not wait for a reader; reopening it would
//   lose O_APPEND and the shared offset).

import { ptr } from "bun:ffi";
import { constants, fstatSync, openSync, writeSync } from "node:fs";
import { lastErrno, libc as openLibc, O_CLOEXEC } from "../libc.ts";

/** Bounds of the queue of lines waiting for a stderr that does not keep up. */
export const MAX_QUEUED_LINES = 1000;
export const MAX_QUEUED_BYTES = 256 * 1024;
/** Retry delays while stderr is full: short at first, then at most this, so a stalled reader
 *  costs a few wake-ups a second. */
const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 200;
/** How long close() waits at exit for stderr to take what is queued. */
export const CLOSE_DRAIN_MS = 1000;

export interface StderrWriter {
  /** Queue-or-write `text` (whole lines). Never blocks, never throws. */
  write(text: string): void;
  /** Lines waiting, and lines dropped and not yet reported. */
  readonly queued: number;
  readonly dropped: number;
  /** At exit: give stderr up to CLOSE_DRAIN_MS to take what is queued. */
  close(): void;
}

/** What one non-blocking write attempt did: bytes taken, or "busy" (try later), or "gone"
 *  (stderr closed or broken: nothing will ever be taken). */
type Attempt = number | "busy" | "gone";

// Not in node:fs `constants` under Bun's types or at run time (Bun's openSync sets it anyway;
// written out so the intent does not rest on that).
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const EAGAIN = 11;
const EINTR = 4;

/** The writer for fd 2 (see above); `fd` and `formatDrop` are for tests. `formatDrop` turns
 *  the count of dropped lines into the line that reports it. */
export function createStderrWriter(formatDrop: (dropped: number) => string, fd = 2): StderrWriter {
  return new QueuedWriter(attemptFor(fd), formatDrop);
}

function attemptFor(fd: number): (bytes: Uint8Array) => Attempt {
  let kind: "fifo" | "socket" | "char" | "other";
  try {
    const st = fstatSync(fd);
    kind = st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : st.isCharacterDevice() ? "char" : "other";
  } catch {
    return () => "gone"; // no stderr at all
  }
  if (kind === "socket") {
    const libc = openLibc();
    return (bytes) => {
      const n = Number(libc.send(fd, ptr(bytes), bytes.length, MSG_DONTWAIT | MSG_NOSIGNAL));
      if (n >= 0) return n;
      const errno = lastErrno();
      return errno === EAGAIN || errno === EINTR ? "busy" : "gone";
    };
  }
  let target = fd;
  if (kind === "fifo" || kind === "char") {
    try {
      target = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY | O_CLOEXEC);
    } catch {
      // No /proc, or not allowed: write to fd 2 as it is, blocking.
    }
  }
  return (bytes) => {
    try {
      return writeSync(target, bytes);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR" ? "busy" : "gone";
    }
  };
}

const encoder = new TextEncoder();

class QueuedWriter implements StderrWriter {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private droppedCount = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_MIN_MS;

  constructor(private readonly attempt: (bytes: Uint8Array) => Attempt, private readonly formatDrop: (dropped: number) => string) {}

  get queued(): number {
    return this.queue.length;
  }
  get dropped(): number {
    return this.droppedCount;
  }

  write(text: string): void {
    const bytes = encoder.encode(text);
    // Keep order: while anything waits (or a drop is unreported), new text waits behind it.
    if (this.queue.length === 0 && this.droppedCount === 0) {
      const r = this.attempt(bytes);
      if (r === "gone" || r === bytes.length) return;
      this.enqueue(r === "busy" ? bytes : bytes.subarray(r));
      return;
    }
    this.enqueue(bytes);
  }

  close(): void {
    // Blocking is right here and nowhere else: pmtr is exiting.
    const deadline = performance.now() + CLOSE_DRAIN_MS;
    while (this.flush() && performance.now() < deadline) Bun.sleepSync(RETRY_MIN_MS);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private enqueue(bytes: Uint8Array): void {
    if (this.queue.length >= MAX_QUEUED_LINES || this.queuedBytes + bytes.length > MAX_QUEUED_BYTES) this.droppedCount++;
    else {
      this.queue.push(bytes);
      this.queuedBytes += bytes.length;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.flush()) {
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        this.schedule();
      } else this.retryMs = RETRY_MIN_MS;
    }, this.retryMs);
    // A stalled stderr must not keep pmtr alive at exit.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Writes what is queued until stderr is busy again, then the drop count. True when
   *  something is left (stderr busy). */
  private flush(): boolean {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const r = this.attempt(head);
      if (r === "busy") return true;
      if (r === "gone") {
        this.queue.length = 0;
        this.queuedBytes = 0;
        this.droppedCount = 0;
        return false;
      }
      this.queuedBytes -= r;
      if (r < head.length) {
        this.queue[0] = head.subarray(r);
        return true;
      }
      this.queue.shift();
    }
    if (this.droppedCount > 0) {
      const notice = encoder.encode(this.formatDrop(this.droppedCount));
      const r = this.attempt(notice);
      if (r === "busy") return true;
      this.droppedCount = 0;
      // A notice cut short (a full pipe taking part of it): the rest goes out like a line.
      if (r !== "gone" && r < notice.length) {
        this.queue.push(notice.subarray(r));
        this.queuedBytes += notice.length - r;
        return true;
      }
    }
    return false;
  }
}
