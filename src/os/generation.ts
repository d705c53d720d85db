// Crash recovery: a pmtr killed by SIGKILL leaves its jobs running (each leads its own
// session, so nothing takes them down). So that the next pmtr does not run every job twice,
// pmtr keeps a small record of its jobs' pids next to its control socket, and a new pmtr that
// finds the record of a dead one stops that generation first (SIGTERM to each group, SIGKILL
// after the grace period), exactly as a shutdown would have.
//
// A pid is trusted only if the process still has the start time recorded with it and still
// leads its own group, so a recycled pid is never signalled.

import { appendFileSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import type { LogLevel } from "../core/ports.ts";
import { isRunningPmtr } from "./pidfile.ts";
import { readStatFields } from "./proc-stat.ts";
import { beginEscalation, isKillDue, killSent } from "../core/escalation.ts";
import { msg } from "../core/messages.ts";
import { groupAlive, signalGroup } from "./process-group.ts";

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

// The record is a journal of JSON lines, so that a start or an exit costs one short append
// whatever the number of jobs (issue 10: rewriting the whole list after every restart took a
// median 0.6 ms with 100 jobs and 1.5 ms with 1000):
//
//   {"pmtr":1234}                                  who wrote it (always the first line)
//   {"name":"web","pid":5678,"start":"123456"}     a job's process started
//   {"ended":5678}                                 it has exited
//
// Once the journal holds more than twice as many lines as there are running jobs (plus
// COMPACT_SLACK), it is rewritten with the running jobs alone (a temporary file renamed over
// it), so its size stays proportional to the jobs and the rewrite costs O(1) per event on
// average. One append is one write(2): a pmtr killed by SIGKILL cannot leave half a line; a
// reader still skips a line it cannot parse. An `ended` line not yet written (they are written
// a turn later, off the restart path) or lost only leaves an entry whose pid no longer has its
// recorded start time, which the reader ignores, as it ignores a recycled pid.

/** Lines allowed beyond twice the running jobs before the journal is rewritten. */
const COMPACT_SLACK = 64;

/** Parses a record: the journal, or the single JSON object of pmtr versions before it. */
export function parseRecord(text: string): Record {
  const whole = tryParse(text);
  if (whole !== null && Array.isArray(whole.jobs) && Number.isInteger(whole.pmtr)) return { pmtr: whole.pmtr as number, jobs: whole.jobs as RecordedJob[] };
  const lines = text.split("\n");
  const head = tryParse(lines[0] ?? "");
  if (head === null || !Number.isInteger(head.pmtr)) throw new Error("not a job record");
  const jobs = new Map<number, RecordedJob>();
  for (const line of lines.slice(1)) {
    const entry = tryParse(line);
    if (entry === null) continue; // a torn or empty line
    if (Number.isInteger(entry.ended)) jobs.delete(entry.ended as number);
    else if (Number.isInteger(entry.pid) && typeof entry.name === "string" && typeof entry.start === "string") {
      jobs.set(entry.pid as number, { name: entry.name, pid: entry.pid as number, start: entry.start });
    }
  }
  return { pmtr: head.pmtr as number, jobs: [...jobs.values()] };
}

function tryParse(line: string): { [key: string]: unknown } | null {
  if (line.trim() === "") return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as { [key: string]: unknown }) : null;
  } catch {
    return null;
  }
}

export interface Recorder {
  /** A job's process started: appended at the end of the current step (a microtask). */
  started(name: string, pid: number): void;
  /** A job's process exited: appended with the next write, or at the end of this turn. */
  ended(pid: number): void;
  /** Clean exit: the record goes, and nothing is written after. */
  remove(): void;
}

/** Keeps the record of this pmtr's running jobs. Nothing is written before the first start,
 *  so a previous generation's record is read (stopPreviousGeneration) before it is replaced. */
export function createRecorder(path: string, log: (level: LogLevel, message: string) => void): Recorder {
  const running = new Map<number, RecordedJob>();
  /** Lines in the file now; -1: not written yet (or a write failed): rewrite it whole. */
  let lines = -1;
  let pending: string[] = [];
  let flushSoon = false;
  let flushLater = false;
  let removed = false;
  let warned = false;

  const fail = (e: unknown) => {
    lines = -1; // next time, rewrite it whole
    if (!warned) log("warning", `cannot write ${path}: ${(e as Error).message} (a pmtr started after a crash of this one could not stop its jobs)`);
    warned = true;
  };
  const rewrite = () => {
    const body = [JSON.stringify({ pmtr: process.pid }), ...[...running.values()].map((job) => JSON.stringify(job))];
    writeFileSync(`${path}.tmp`, `${body.join("\n")}\n`, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    lines = body.length;
  };
  const flush = () => {
    if (removed || pending.length === 0) return;
    const add = pending;
    pending = [];
    try {
      if (lines < 0 || lines + add.length > 2 * running.size + COMPACT_SLACK) rewrite();
      else {
        appendFileSync(path, `${add.join("\n")}\n`);
        lines += add.length;
      }
      warned = false;
    } catch (e) {
      fail(e);
    }
  };
  return {
    // A start is written once the step that made it is over (a microtask: the starts of one
    // batch go in one append, before pmtr does anything else); an exit a turn later, off the
    // path from the exit to the replacement's start.
    started(name, pid) {
      if (removed) return;
      const start = processStart(pid);
      if (start === null) return; // gone already: its exit follows
      const job: RecordedJob = { name, pid, start };
      running.set(pid, job);
      pending.push(JSON.stringify(job));
      if (flushSoon) return;
      flushSoon = true;
      queueMicrotask(() => {
        flushSoon = false;
        flush();
      });
    },
    ended(pid) {
      if (removed || !running.delete(pid)) return;
      pending.push(JSON.stringify({ ended: pid }));
      if (flushLater) return;
      flushLater = true;
      setImmediate(() => {
        flushLater = false;
        flush();
      });
    },
    remove(): void {
      removed = true;
      pending = [];
      try {
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
