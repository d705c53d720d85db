// Crash recovery: a pmtr killed by SIGKILL leaves its jobs running (each leads its own
// session, so nothing takes them down). So that the next pmtr does not run every job twice,
// pmtr keeps a small record of its jobs' pids next to its control socket, and a new pmtr that
// finds the record of a dead one stops that generation first (SIGTERM to each group, SIGKILL
// after the grace period), exactly as a shutdown would have.
//
// A pid is trusted only if the process still has the start time recorded with it and still
// leads its own group, so a recycled pid is never signalled.

import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import type { LogLevel } from "../../core/ports.ts";
import { isRunningPmtr } from "./pidfile.ts";
import { readStatFields } from "../proc/proc-stat.ts";
import { beginEscalation, isKillDue, killSent } from "../../core/escalation.ts";
import { msg } from "../../core/messages.ts";
import { O_CLOEXEC, osError } from "../libc.ts";
import { groupAlive, signalGroup } from "../proc/process-group.ts";

export interface RecordedJob {
  readonly name: string;
  readonly pid: number;
  /** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
  readonly start: string;
}

interface Record {
  readonly pmtr: number;
  readonly jobs: readonly RecordedJob[];
}

/** The record's path for a control socket path: /run/pmtr.sock -> /run/pmtr.jobs. */
export function recordPath(socketPath: string): string {
  return socketPath.endsWith(".sock") ? `${socketPath.slice(0, -".sock".length)}.jobs` : `${socketPath}.jobs`;
}

/** Start time of `pid` (field 22 of /proc/PID/stat), or null if there is no such process. */
export function processStart(pid: number): string | null {
  return readStatFields(pid)?.[19] ?? null;
}

/** Process group of `pid` (field 5), or null. */
function processGroup(pid: number): number | null {
  const pgrp = readStatFields(pid)?.[2];
  return pgrp === undefined ? null : Number(pgrp);
}

// The record is one JSON object, {"pmtr":PID,"jobs":[...]}, laid out in slots of one width
// so that a start or an exit rewrites one slot in place (one pwrite) whatever the number of
// jobs (issue 10: rewriting the whole list after every restart took a median 0.6 ms with 100
// jobs and 1.5 ms with 1000):
//
//   {"pmtr":1234,"jobs":[
//   {"name":"web","pid":5678,"start":"123456"}          ,     a running job, padded to the width
//   {}                                                  ,     a free slot
//   {}]}                                                      the end, after the last slot
//
// The file is rewritten whole (a temporary file renamed over it) only when the slots are all
// taken (then twice as many), when a quarter or fewer are used (half as many), or when an
// entry is wider than the slots: O(1) per event on average. One pwrite cannot be cut in half by
// a SIGKILL of pmtr. An exit is written a turn later, off the path from the exit to the
// replacement's start, and not at all once shutdown has begun (the record is removed at its end);
// an entry left for a process that has gone no longer matches its recorded start time, and the
// reader ignores it, as it ignores a recycled pid.

/** Slots in a new file, and the fewest kept when shrinking. */
const MIN_SLOTS = 64;
/** Bytes per slot, separator included, unless an entry needs more. */
const MIN_SLOT_BYTES = 96;
const EMPTY_SLOT = "{}";

/** Parses a record; entries that are not jobs (free slots) are left out. */
export function parseRecord(text: string): Record {
  const record = JSON.parse(text) as Partial<Record> | null;
  if (record === null || typeof record !== "object" || !Array.isArray(record.jobs) || !Number.isInteger(record.pmtr)) throw new Error("not a job record");
  return { pmtr: record.pmtr!, jobs: record.jobs.filter((job) => job !== null && typeof job === "object" && Number.isInteger(job.pid)) };
}

export interface Recorder {
  /** A job's process started: its slot is written at once. */
  started(name: string, pid: number): void;
  /** A job's process exited: its slot is freed at the end of this turn. */
  ended(pid: number): void;
  /** Shutdown has begun: exits are no longer written (the record goes at the end). */
  stopping(): void;
  /** Clean exit: the record goes, and nothing is written after. */
  remove(): void;
}

/** Keeps the record of this pmtr's running jobs. Nothing is written before the first start,
 *  so a previous generation's record is read (stopPreviousGeneration) before it is replaced. */
export function createRecorder(path: string, log: (level: LogLevel, message: string) => void): Recorder {
  const header = `{"pmtr":${process.pid},"jobs":[\n`;
  /** pid -> its slot and entry. */
  const jobs = new Map<number, { slot: number; text: string }>();
  const free: number[] = [];
  let slots = 0;
  let width = MIN_SLOT_BYTES;
  /** The open record; null: not written yet, or a write failed: rewrite it whole. */
  let fd: number | null = null;
  let endedPending: number[] = [];
  let flushQueued = false;
  let quiet = false;
  let removed = false;
  let warned = false;

  const slotText = (entry: string) => `${entry.padEnd(width - 2)},\n`;
  const close = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  const fail = (e: unknown) => {
    try {
      close();
    } catch {
      // the rewrite below starts afresh either way
    }
    if (!warned) log("warning", `cannot write ${path}: ${osError(e)} (a pmtr started after a crash of this one could not stop its jobs)`);
    warned = true;
  };
  /** Lays every running job out again in `count` slots of `width` bytes. */
  const rewrite = (count: number) => {
    close();
    slots = count;
    free.length = 0;
    const body: string[] = [header];
    let slot = 0;
    for (const job of jobs.values()) {
      job.slot = slot++;
      body.push(slotText(job.text));
    }
    for (let s = slots - 1; s >= slot; s--) free.push(s);
    for (let s = slot; s < slots; s++) body.push(slotText(EMPTY_SLOT));
    body.push(`${EMPTY_SLOT}]}\n`);
    writeFileSync(`${path}.tmp`, body.join(""), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    fd = openSync(path, constants.O_WRONLY | O_CLOEXEC);
    // The layout is new: exits not yet written are in it already, and their slots may hold
    // other jobs now.
    endedPending = [];
    warned = false;
  };
  const writeSlot = (slot: number, entry: string) => {
    writeSync(fd!, slotText(entry), Buffer.byteLength(header) + slot * width);
  };
  /** The file was deleted under us (an age-based cleaner in /tmp, an operator's rm): writes
   *  to the open file would reach nobody, so it is laid out anew. One fstat. */
  const isDeleted = () => fstatSync(fd!).nlink === 0;
  const flushEnded = () => {
    flushQueued = false;
    const pids = endedPending;
    endedPending = [];
    if (removed || quiet || fd === null) return;
    try {
      if (isDeleted()) return rewrite(Math.max(MIN_SLOTS, slots));
      for (const slot of pids) {
        writeSlot(slot, EMPTY_SLOT);
        free.push(slot); // only now: a start taking it earlier would be erased by this write
      }
      if (slots > MIN_SLOTS && jobs.size * 4 <= slots) rewrite(Math.max(MIN_SLOTS, slots / 2));
    } catch (e) {
      fail(e);
    }
  };
  return {
    started(name, pid) {
      if (removed) return;
      const start = processStart(pid);
      if (start === null) return; // gone already: its exit follows
      // ASCII only, so that characters and bytes count alike in the padding.
      const text = JSON.stringify({ name, pid, start } satisfies RecordedJob).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
      const known = jobs.get(pid); // reported twice: the same slot
      const job = { slot: known?.slot ?? -1, text };
      jobs.set(pid, job);
      try {
        let relay = fd === null || (job.slot < 0 && free.length === 0) || isDeleted();
        if (text.length + 2 > width) {
          width = Math.max(2 * width, text.length + 2);
          relay = true;
        }
        if (relay) {
          rewrite(Math.max(MIN_SLOTS, 2 * jobs.size, free.length === 0 ? 2 * slots : slots));
          return;
        }
        if (job.slot < 0) job.slot = free.pop()!;
        writeSlot(job.slot, text);
      } catch (e) {
        fail(e);
      }
    },
    ended(pid) {
      const job = jobs.get(pid);
      if (job === undefined) return;
      jobs.delete(pid);
      if (removed || quiet || job.slot < 0) return;
      endedPending.push(job.slot);
      if (flushQueued) return;
      flushQueued = true;
      setImmediate(flushEnded);
    },
    stopping() {
      quiet = true;
    },
    remove(): void {
      removed = true;
      try {
        close();
        unlinkSync(path);
      } catch {
        // never written, or already gone
      }
    },
  };
}

/** Stops the jobs a dead pmtr left behind, if its record is at `path`; resolves when they
 *  are gone. A record of a pmtr that is still running is left alone. */
export async function stopPreviousGeneration(
  path: string,
  log: (level: LogLevel, message: string) => void,
  graceMs = 10_000,
): Promise<void> {
  let record: Record;
  try {
    record = parseRecord(readFileSync(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") log("warning", `ignoring ${path}: ${(e as Error).message}`);
    return;
  }
  if (record.pmtr !== process.pid && isRunningPmtr(record.pmtr)) return;
  const left = record.jobs.filter(
    (job) => Number.isInteger(job.pid) && job.pid > 1 && processStart(job.pid) === job.start && processGroup(job.pid) === job.pid,
  );
  // The same escalation as a job's stop (core/escalation.ts), for all of them at once.
  let stop = beginEscalation("SIGTERM", performance.now(), graceMs);
  for (const job of left) {
    log("warning", `stopping job ${job.name} [${job.pid}], left running by a previous pmtr [${record.pmtr}] that did not exit cleanly`);
    signalGroup(job.pid, stop.signal);
  }
  const giveUpAt = stop.killAt! + 2_000; // unkillable (D state): give up waiting
  while (left.some((job) => groupAlive(job.pid))) {
    if (isKillDue(stop, performance.now())) {
      stop = killSent(stop);
      for (const job of left) {
        if (!groupAlive(job.pid)) continue;
        log("warning", msg.sending("SIGKILL", job.name, job.pid));
        signalGroup(job.pid, "SIGKILL");
      }
    }
    if (performance.now() >= giveUpAt) break;
    await Bun.sleep(20);
  }
}
