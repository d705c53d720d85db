// Crash recovery: a pmtr killed by SIGKILL leaves its jobs running (each leads its own
// session, so nothing takes them down). So that the next pmtr does not run every job twice,
// pmtr keeps a small record of its jobs' pids next to its control socket, and a new pmtr that
// finds the record of a dead one stops that generation first (SIGTERM to each group, SIGKILL
// after the grace period), exactly as a shutdown would have.
//
// A pid is trusted only if the process still has the start time recorded with it and still
// leads its own group, so a recycled pid is never signalled.

import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
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

/** Keeps the record of this pmtr's running jobs. Writes only when the set changed. */
export function createRecorder(path: string, log: (level: LogLevel, message: string) => void) {
  let last = "";
  let warned = false;
  /** Start times already read, so a write costs a /proc read only for new pids. */
  let starts = new Map<number, string>();
  return {
    write(jobs: ReadonlyArray<{ name: string; pid: number | null }>): void {
      const running: RecordedJob[] = [];
      const seen = new Map<number, string>();
      for (const job of jobs) {
        if (job.pid === null) continue;
        const start = starts.get(job.pid) ?? processStart(job.pid);
        if (start === null) continue;
        seen.set(job.pid, start);
        running.push({ name: job.name, pid: job.pid, start });
      }
      starts = seen;
      const text = JSON.stringify({ pmtr: process.pid, jobs: running } satisfies Record);
      if (text === last) return;
      try {
        writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
        renameSync(`${path}.tmp`, path);
        last = text;
        warned = false;
      } catch (e) {
        if (!warned) log("warning", `cannot write ${path}: ${(e as Error).message} (a pmtr started after a crash of this one could not stop its jobs)`);
        warned = true;
      }
    },
    remove(): void {
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
    record = JSON.parse(readFileSync(path, "utf8")) as Record;
    if (!Array.isArray(record.jobs) || !Number.isInteger(record.pmtr)) throw new Error("not a job record");
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
