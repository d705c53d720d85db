// Memory and CPU of whole process groups (a job and everything it started), from /proc.
//
// Which processes belong to a group is only written in each process's own /proc/PID/stat, so
// the one way to sum a group is to read every process on the machine (~10 µs each). Doing that
// for every scrape of every job would cost 1000 jobs × their processes per request; instead one
// scan serves every group and is kept for `maxAgeMs` (GroupUsageCache). A scan reads files
// asynchronously a few at a time, so it neither blocks the supervision loop nor takes many fds
// (pmtr keeps spare fds for spawning, spawn.ts).

import { readFile, readdir } from "node:fs/promises";
import { readFileSync } from "node:fs";

export interface GroupUsage {
  /** Resident memory of every process in the group, summed (shared pages count once per process). */
  readonly rssBytes: number;
  /** User + system CPU time of the live processes in the group (reaped children are not counted). */
  readonly cpuSeconds: number;
  /** Processes found in the group. */
  readonly processes: number;
}

/** /proc reports times in USER_HZ ticks, which the kernel fixes at 100 on every Linux
 *  architecture whatever CONFIG_HZ is (sysconf(_SC_CLK_TCK) returns the same constant). */
const USER_HZ = 100;
/** Files read at once during a scan. */
const SCAN_CONCURRENCY = 16;

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
  // The command name (field 2) may hold spaces and parentheses: fields follow the last ')'.
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const f = text.slice(close + 2).split(" ");
  // f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15, rss 24.
  const pgrp = Number(f[2]);
  const cpuTicks = Number(f[11]) + Number(f[12]);
  const rssPages = Number(f[21]);
  if (!Number.isFinite(pgrp) || !Number.isFinite(cpuTicks) || !Number.isFinite(rssPages)) return null;
  return { pgrp, cpuTicks, rssPages };
}

/** Reads every process once and sums those whose group is in `pgids`. Groups with no live
 *  process are absent from the result. `procRoot` is for tests. */
export async function scanGroups(pgids: Iterable<number>, procRoot = "/proc"): Promise<Map<number, GroupUsage>> {
  const wanted = new Set(pgids);
  const sums = new Map<number, { ticks: number; pages: number; processes: number }>();
  if (wanted.size === 0) return new Map();
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return new Map();
  }
  const pids = entries.filter((e) => e.charCodeAt(0) >= 48 && e.charCodeAt(0) <= 57);
  let next = 0;
  const worker = async () => {
    while (next < pids.length) {
      const pid = pids[next++]!;
      let text: string;
      try {
        text = await readFile(`${procRoot}/${pid}/stat`, "latin1");
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
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, pids.length) }, worker));
  const page = pageSize();
  const out = new Map<number, GroupUsage>();
  for (const [pgrp, s] of sums) out.set(pgrp, { rssBytes: s.pages * page, cpuSeconds: s.ticks / USER_HZ, processes: s.processes });
  return out;
}

export interface GroupUsageCacheOptions {
  /** A scan younger than this is served as it is. Default 5 s (a usual scrape interval is 15 s). */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
  readonly scan?: (pgids: Iterable<number>) => Promise<Map<number, GroupUsage>>;
}

/** Usage of the groups asked for, from a scan at most `maxAgeMs` old. Concurrent callers share
 *  one scan. A group asked for that the last scan did not look for triggers a new scan. */
export class GroupUsageCache {
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly scan: (pgids: Iterable<number>) => Promise<Map<number, GroupUsage>>;
  private last: { atMs: number; looked: ReadonlySet<number>; usage: Map<number, GroupUsage> } | null = null;
  private pending: Promise<Map<number, GroupUsage>> | null = null;

  constructor(options: GroupUsageCacheOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 5000;
    this.now = options.now ?? (() => performance.now());
    this.scan = options.scan ?? ((pgids) => scanGroups(pgids));
  }

  async usage(pgids: readonly number[]): Promise<ReadonlyMap<number, GroupUsage>> {
    const last = this.last;
    if (last !== null && this.now() - last.atMs < this.maxAgeMs && pgids.every((p) => last.looked.has(p))) return last.usage;
    return this.refresh(pgids);
  }

  private refresh(pgids: readonly number[]): Promise<Map<number, GroupUsage>> {
    if (this.pending !== null) return this.pending;
    const looked = new Set(pgids);
    const startedAtMs = this.now();
    const pending = this.scan(looked).then(
      (usage) => {
        this.last = { atMs: startedAtMs, looked, usage };
        return usage;
      },
    ).finally(() => {
      this.pending = null;
    });
    this.pending = pending;
    return pending;
  }
}
