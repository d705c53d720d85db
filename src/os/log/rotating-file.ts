// A job's `out`/`err` file written by pmtr under `rotate SIZE [keep N]` (SPEC §13): appended
// to, and at SIZE renamed F -> F.1 (F.1 -> F.2 ... up to F.N, the oldest dropped) with a new F
// opened. Rotation happens only between lines, so no line is split across two files; a line
// longer than SIZE is written whole into a file of its own. Creating and renaming happen with
// the job's user's file identity (fs-identity.ts), in synchronous calls, so no write of this
// file can come between a rename and the open of the new F.

import { closeSync, constants, existsSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";
import { O_CLOEXEC } from "../libc.ts";
import { asIdentity, type FsIdentity } from "./fs-identity.ts";

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_CLOEXEC;

export interface RotateLimits {
  readonly maxBytes: number;
  /** Rotated files kept beside F (F.1 ... F.keep); at least 1. */
  readonly keep: number;
}

/** A write that failed part way: `written` bytes of the input are in the file (or an earlier
 *  one), the rest is still the caller's to write again. */
export class AppendError extends Error {
  constructor(readonly written: number, override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
  }
}

export class RotatingFile {
  private fd: number | null = null;
  private sizeBytes = 0;
  /** The last byte written was not a newline: the line goes on in this same file. */
  private midLine = false;

  constructor(readonly path: string, public limits: RotateLimits, private readonly identity: FsIdentity | null) {}

  /** Append `bytes`, rotating between lines as SIZE requires. Throws AppendError (with how
   *  much was written) when the file cannot be opened, written or rotated; calling again with
   *  the rest carries on where it stopped. */
  append(bytes: Uint8Array): void {
    this.appendBoth(EMPTY, bytes);
  }

  /** append(head + bytes) without making that concatenation; `written` counts both. One
   *  synchronous call, so nothing else can write this file between the two. */
  appendBoth(head: Uint8Array, bytes: Uint8Array): void {
    let done = 0;
    try {
      if (head.length > 0) this.makeRoomForLine(head.length + lineLength(bytes));
      while (done < head.length) done += this.step(head.subarray(done));
      while (done - head.length < bytes.length) done += this.step(bytes.subarray(done - head.length));
    } catch (e) {
      throw new AppendError(done, e);
    }
  }

  /** Open (create) F now if it is not open: errors are thrown, naming nothing (the caller
   *  knows the path). */
  ensureOpen(): void {
    if (this.fd === null) this.open();
  }

  /** Close F and open the file now at its path (after logrotate moved it: SIGUSR1, `pmtr
   *  reopen`). Errors are thrown; the next append tries again. */
  reopen(): void {
    this.close();
    this.open();
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }

  /** A line of `length` bytes is about to be written in pieces: rotate first if it would not
   *  fit, as step() does for a line it sees whole. */
  private makeRoomForLine(length: number): void {
    if (this.fd === null) this.open();
    if (!this.midLine && this.sizeBytes > 0 && this.sizeBytes + length > this.limits.maxBytes) this.rotate();
  }

  /** Writes a leading part of `rest` (or rotates) and returns how many bytes it wrote. */
  private step(rest: Uint8Array): number {
    const fd = this.fd ?? this.open();
    const room = this.limits.maxBytes - this.sizeBytes;
    if (rest.length <= room) return this.write(fd, rest);
    if (this.midLine) {
      // The line in progress ends in this file, however long it gets.
      const nl = rest.indexOf(NEWLINE);
      return this.write(fd, nl < 0 ? rest : rest.subarray(0, nl + 1));
    }
    // Between lines: fill F with the whole lines that fit, then rotate.
    const cut = room > 0 ? rest.lastIndexOf(NEWLINE, room - 1) : -1;
    if (cut >= 0) return this.write(fd, rest.subarray(0, cut + 1));
    if (this.sizeBytes > 0) {
      this.rotate();
      return 0;
    }
    // An empty F and a first line longer than SIZE: written whole.
    const nl = rest.indexOf(NEWLINE);
    return this.write(fd, nl < 0 ? rest : rest.subarray(0, nl + 1));
  }

  private write(fd: number, bytes: Uint8Array): number {
    const n = writeSync(fd, bytes);
    if (n > 0) {
      this.sizeBytes += n;
      this.midLine = bytes[n - 1] !== NEWLINE;
    }
    return n;
  }

  private open(): number {
    const fd = asIdentity(this.identity, () => openSync(this.path, OPEN_FLAGS, 0o644));
    this.fd = fd;
    this.sizeBytes = fstatSync(fd).size;
    // A file that already ends mid-line (a job killed mid-write before pmtr ran it): its next
    // line starts a new one, so no line is ever glued to a stranger's.
    this.midLine = false;
    return fd;
  }

  private rotate(): void {
    this.close();
    asIdentity(this.identity, () => {
      // Shift only up to the first free number (all of them once the set is full): F.keep is
      // overwritten by F.keep-1, which is how the oldest is dropped.
      let free = 1;
      while (free < this.limits.keep && existsSync(`${this.path}.${free}`)) free++;
      for (let n = free - 1; n >= 1; n--) renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
      renameQuietly(this.path, `${this.path}.1`);
    });
    this.open();
  }
}

/** Up to and including the first newline (all of it when there is none). */
function lineLength(bytes: Uint8Array): number {
  const nl = bytes.indexOf(NEWLINE);
  return nl < 0 ? bytes.length : nl + 1;
}

/** F may have been removed by hand meanwhile: then there is nothing to move. */
function renameQuietly(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
  }
}
