// Memory and CPU of whole process groups (a job and everything it started), from /proc.
//
// Which processes belong to a group is only written in each process's own /proc/PID/stat, so
// the one way to sum a group is to read every process on the machine (~10 µs each). Doing that
// for every scrape of every job would cost 1000 jobs × their processes per request; instead one
// scan serves every group and is kept for `maxAgeMs` (GroupUsageCache). A scan yields to the
// event loop every SCAN_CHUNK processes, so it never holds up supervision for long, and it
// holds one fd at a time (pmtr keeps spare fds for spawning, spawn.ts).

import { readdirSync, readFileSync } from "node:fs";
import { statFields } from "./proc-stat.ts";

export interface GroupUsage {
  /** Resident memory of every process in the group, summed (shared pages count once per process). */
  readonly rssBytes: number;
  /** User + system CPU time of the group's processes and of the children they have waited for. */
  readonly cpuSeconds: number;
  /** Processes found in the group. */
  readonly processes: number;
}

/** /proc reports times in USER_HZ ticks, which the kernel fixes at 100 on every Linux
 *  architecture whatever CONFIG_HZ is (sysconf(_SC_CLK_TCK) returns the same constant). */
const USER_HZ = 100;
/** Processes read between two turns of the event loop during a scan. */
const SCAN_CHUNK = 100;

let pageSizeBytes: number | null = null;

/** The page size, from the kernel's AT_PAGESZ entry in our own auxiliary vector: 4 KiB on x86-64,
 *  but 16 or 64 KiB on some arm64 kernels, and /proc/PID/stat counts RSS in pages. */
export function pageSize(): number {
  if (pageSizeBytes !== null) return pageSizeBytes;
  pageSizeBytes = 4096;
  try {
    const auxv = readFileSync("/proc/self/auxv");
    const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
    for (let at = 0; at + 16 <= auxv.byteLength; at += 16) {
      const type = view.getBigUint64(at, true);
      if (type === 0n) break; // AT_NULL
      if (type === 6n) pageSizeBytes = Number(view.getBigUint64(at + 8, true)); // AT_PAGESZ
    }
  } catch {
    // no /proc/self/auxv (unusual sandboxes): 4 KiB is right on x86-64
  }
  return pageSizeBytes;
}

/** One process's group, CPU ticks and RSS pages from the text of /proc/PID/stat; null if unreadable. */
export function parseStat(text: string): { pgrp: number; cpuTicks: number; rssPages: number } | null {
  const f = statFields(text);
  if (f === null) return null;
  // f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15, cutime 16, cstime 17, rss 24.
  // cutime/cstime hold the CPU of children this process has waited for: with them the group's
  // total does not drop when a worker exits and is reaped by its parent (a drop would read as a
  // counter reset to Prometheus, and rate() would count the whole total again).
  const pgrp = Number(f[2]);
  const cpuTicks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const rssPages = Number(f[21]);
  if (!Number.isFinite(pgrp) || !Number.isFinite(cpuTicks) || !Number.isFinite(rssPages)) return null;
  return { pgrp, cpuTicks, rssPages };
}

/** Reads every process once and sums those whose group is in `pgids`. Groups with no live
 *  process are absent from the result. `procRoot` is for tests.
 *
 *  The reads are synchronous, in chunks of SCAN_CHUNK with a turn of the event loop between
 *  two chunks: a synchronous read of /proc/PID/stat costs ~5 µs against ~25 µs through the
 *  thread pool (measured: 1000 jobs scanned in ~10 ms against ~50 ms), and a chunk blocks the
 *  supervision loop for well under a millisecond. */
export async function scanGroups(pgids: Iterable<number>, procRoot = "/proc"): Promise<Map<number, GroupUsage>> {
  const wanted = new Set(pgids);
  const sums = new Map<number, { ticks: number; pages: number; processes: number }>();
  if (wanted.size === 0) return new Map();
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return new Map();
  }
  let inChunk = 0;
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid
    if (++inChunk > SCAN_CHUNK) {
      inChunk = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${entry}/stat`, "latin1");
    } catch {
      continue; // exited since readdir
    }
    const stat = parseStat(text);
    if (stat === null || !wanted.has(stat.pgrp)) continue;
    const sum = sums.get(stat.pgrp) ?? { ticks: 0, pages: 0, processes: 0 };
    sum.ticks += stat.cpuTicks;
    sum.pages += stat.rssPages;
    sum.processes++;
    sums.set(stat.pgrp, sum);
  }
  const page = pageSize();
  const out = new Map<number, GroupUsage>();
  for (const [pgrp, s] of sums) out.set(pgrp, { rssBytes: s.pages * page, cpuSeconds: s.ticks / USER_HZ, processes: s.processes });
  return out;
}

export interface GroupUsageCacheOptions {
  /** A scan younger than this is served as it is. Default 5 s. */
  readonly maxAgeMs?: number;
  /** For a scraper (metrics): requests never wait on a scan but the first (or one after a
   *  pause longer than keepWarmMs); the next scan runs in the background instead. Without it
   *  (status), a request waits for a fresh scan when the last is stale or did not look for a
   *  group it asks about. */
  readonly refreshAhead?: boolean;
  /** Background scans stop this long after the last request (a scraper that went away). Default 60 s. */
  readonly keepWarmMs?: number;
  readonly now?: () => number;
  readonly scan?: (pgids: Iterable<number>) => Promise<Map<number, GroupUsage>>;
  /** A one-shot timer that must not keep the process alive; returns its cancel. */
  readonly setTimer?: (action: () => void, ms: number) => () => void;
}

/** Usage of process groups from a shared scan at most `maxAgeMs` old (concurrent requests share
 *  one scan). With `refreshAhead` (a scraper): answered at once from the last scan; only the
 *  very first request waits for one, and while requests keep coming the next scan runs in the
 *  background `maxAgeMs` after the last, so a scrape never pays for one (with 1000 jobs a scan
 *  is tens of ms on a busy machine). A group the last scan did not look for (a job started or
 *  restarted since) is then absent until the next. */
export class GroupUsageCache {
  private readonly maxAgeMs: number;
  private readonly refreshAhead: boolean;
  private readonly keepWarmMs: number;
  private readonly now: () => number;
  private readonly scan: (pgids: Iterable<number>) => Promise<Map<number, GroupUsage>>;
  private readonly setTimer: (action: () => void, ms: number) => () => void;
  private last: { readonly atMs: number; readonly looked: ReadonlySet<number>; readonly usage: Map<number, GroupUsage> } | null = null;
  private pending: Promise<Map<number, GroupUsage>> | null = null;
  private wanted: readonly number[] = [];
  private askedAtMs = 0;
  private cancelTimer: (() => void) | null = null;

  constructor(options: GroupUsageCacheOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 5000;
    this.refreshAhead = options.refreshAhead ?? false;
    this.keepWarmMs = options.keepWarmMs ?? 60_000;
    this.now = options.now ?? (() => performance.now());
    this.scan = options.scan ?? ((pgids) => scanGroups(pgids));
    this.setTimer = options.setTimer ?? ((action, ms) => {
      const timer = setTimeout(action, ms);
      timer.unref();
      return () => clearTimeout(timer);
    });
  }

  async usage(pgids: readonly number[]): Promise<ReadonlyMap<number, GroupUsage>> {
    this.wanted = pgids;
    this.askedAtMs = this.now();
    const last = this.last;
    const ageMs = last === null ? Infinity : this.now() - last.atMs;
    if (!this.refreshAhead) {
      if (last !== null && ageMs < this.maxAgeMs && pgids.every((p) => last.looked.has(p))) return last.usage;
      return this.refresh();
    }
    if (last === null || ageMs > this.keepWarmMs) return this.refresh();
    if (ageMs >= this.maxAgeMs) void this.refresh();
    else this.scheduleNext();
    return last.usage;
  }

  close(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private refresh(): Promise<Map<number, GroupUsage>> {
    if (this.pending !== null) return this.pending;
    const startedAtMs = this.now();
    const looked = new Set(this.wanted);
    this.pending = this.scan(looked).then(
      (usage) => {
        this.last = { atMs: startedAtMs, looked, usage };
        return usage;
      },
      // /proc unreadable: keep what we had (an empty table the first time).
      () => this.last?.usage ?? new Map<number, GroupUsage>(),
    ).finally(() => {
      this.pending = null;
      this.scheduleNext();
    });
    return this.pending;
  }

  private scheduleNext(): void {
    if (!this.refreshAhead || this.cancelTimer !== null || this.pending !== null || this.last === null) return;
    if (this.now() - this.askedAtMs > this.keepWarmMs) return;
    const dueInMs = Math.max(0, this.last.atMs + this.maxAgeMs - this.now());
    this.cancelTimer = this.setTimer(() => {
      this.cancelTimer = null;
      void this.refresh();
    }, dueInMs);
  }
}
