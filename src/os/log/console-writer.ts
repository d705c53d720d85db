// `out console` / `err console` (SPEC §13): each line of a job to pmtr's stdout (or stderr) as
// `NAME | line`, for `docker logs`. One write(2) per line, so lines from different jobs (and
// pmtr's own messages on stderr) never interleave inside a line.
//
// pmtr's fds 1 and 2 are shared with whoever started it: setting O_NONBLOCK on them would
// change them for that program too. So a pipe or terminal is opened again through
// /proc/self/fd/N (a new open file description of the same pipe) and only that one is made
// non-blocking; when it is full, lines wait here (one per job at most: each pump awaits its
// line before reading on) and are retried, and the jobs are slowed, never dropped. A regular
// file never blocks and is written as it is; a socket cannot be reopened that way and is
// written blocking (the README says so).

import { constants, fstatSync, openSync, writeSync } from "node:fs";
import { O_CLOEXEC } from "../libc.ts";

const RETRY_MS = 5;
const PREFIX_SEPARATOR = new TextEncoder().encode(" | ");

export interface ConsoleWriter {
  /** Write `NAME | line` for each line in `lines` (whole lines, each ending in a newline).
   *  Returns a promise while the stream is full; it settles once every line is written. */
  writeLines(name: string, lines: Uint8Array): void | Promise<void>;
}

export function openConsoleWriter(fd: 1 | 2): ConsoleWriter {
  return createConsoleWriter(writableFd(fd));
}

/** A writer on `fd` as it is (tests give it a non-blocking pipe of their own). */
export function createConsoleWriter(fd: number): ConsoleWriter {
  return new QueuedConsole(fd);
}

/** The fd to write `fd`'s stream through without blocking pmtr (see the header). */
function writableFd(fd: number): number {
  try {
    const st = fstatSync(fd);
    if (st.isFile() || st.isSocket()) return fd;
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY | O_CLOEXEC);
  } catch {
    return fd;
  }
}

class QueuedConsole implements ConsoleWriter {
  private readonly queue: Uint8Array[] = [];
  private waiters: Array<() => void> = [];
  private timer: Timer | null = null;
  private readonly prefixes = new Map<string, Uint8Array>();

  constructor(private readonly fd: number) {}

  writeLines(name: string, lines: Uint8Array): void | Promise<void> {
    const prefix = this.prefix(name);
    let start = 0;
    while (start < lines.length) {
      let end = lines.indexOf(0x0a, start);
      end = end < 0 ? lines.length : end + 1;
      const record = new Uint8Array(prefix.length + end - start);
      record.set(prefix);
      record.set(lines.subarray(start, end), prefix.length);
      this.queue.push(record);
      start = end;
    }
    this.flush();
    if (this.queue.length === 0) return;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private prefix(name: string): Uint8Array {
    let p = this.prefixes.get(name);
    if (!p) {
      const bytes = new TextEncoder().encode(name);
      p = new Uint8Array(bytes.length + PREFIX_SEPARATOR.length);
      p.set(bytes);
      p.set(PREFIX_SEPARATOR, bytes.length);
      this.prefixes.set(name, p);
    }
    return p;
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const record = this.queue[0]!;
      let n: number;
      try {
        n = writeSync(this.fd, record);
      } catch (e) {
        if ((e as { code?: string }).code === "EAGAIN") return this.retry();
        // Nobody reads pmtr's output any more (EPIPE) or it is gone: the line cannot be shown
        // anywhere, and holding it would stop the job for good.
        n = record.length;
      }
      if (n < record.length) {
        // Part of a long line was taken: its rest must be the very next thing written.
        this.queue[0] = record.subarray(n);
        return this.retry();
      }
      this.queue.shift();
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private retry(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, RETRY_MS);
  }
}
