// Benchmark (SPEC §13, issue 14): captured output through pmtr. Prints numbers only; the
// figures are recorded in docs/PERFORMANCE.md.
//  1. Throughput of one job writing 100-byte lines flat out (`yes` with a 99-byte word) to a
//     rotated file (rotate 500M keep 9) on tmpfs, so the figure is pmtr's and not the disk's;
//     pmtr's CPU per MB from /proc/PID/stat. Target >= 300 MB/s. Beside it, the same job
//     writing its file directly (no rotate), which is the ceiling.
//  2. pmtr's RSS while 10 such jobs write flat out, against the same pmtr with 10 idle jobs.
//     Target <= 10 MB above idle. Beside it, the round trip of a `status` request on the
//     control socket meanwhile (every 100 ms): whether the loop still turns for others.
// PMTR_BENCH_BIN=/path/to/pmtr compares another build; PMTR_BENCH_SECONDS (default 5).

import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from "node:fs";
import { resolve, join } from "node:path";
import { memoryMb, readOr } from "./lib/proc.ts";
import { figure, machine } from "./lib/report.ts";
import { askPmtr } from "../../src/control/socket-client.ts";

const PMTR = process.env.PMTR_BENCH_BIN ?? resolve(import.meta.dir, "../../dist/pmtr");
const SECONDS = Number(process.env.PMTR_BENCH_SECONDS ?? 5);
const WORD = "x".repeat(99);
const TICKS = 100; // USER_HZ

function cpuMs(pid: number): number {
  const f = readOr(`/proc/${pid}/stat`).split(") ")[1]?.split(" ") ?? [];
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
}

/** Bytes in F, F.1 ... F.9: everything written, as long as fewer than 10 rotations happened. */
function written(path: string): number {
  let total = 0;
  for (const p of [path, ...Array.from({ length: 9 }, (_, i) => `${path}.${i + 1}`)]) if (existsSync(p)) total += statSync(p).size;
  return total;
}

async function withPmtr<T>(conf: string, fn: (pid: number, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync("/dev/shm/pmtr-bench-logs-");
  const path = join(dir, "pmtr.conf");
  writeFileSync(path, conf.replaceAll("@DIR@", dir), { mode: 0o644 });
  const daemon = Bun.spawn([PMTR, "-F", "-c", path, "-s", join(dir, "s")], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  try {
    return await fn(daemon.pid, dir);
  } finally {
    daemon.kill("SIGTERM");
    await daemon.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

// 10 files of 500M hold what one job writes in SECONDS (about 400 MB/s): nothing is dropped.
const job = (name: string, rotate: boolean, cmd = `/usr/bin/yes ${WORD}`) =>
  `job {\n  name ${name}\n  cmd ${cmd}\n  dir @DIR@\n  out ${name}.log\n${rotate ? "  rotate 500M keep 9\n" : ""}}\n`;

async function throughput(rotate: boolean): Promise<{ mbPerSec: number; cpuMsPerMb: number }> {
  return withPmtr(job("yes", rotate), async (pid, dir) => {
    const file = join(dir, "yes.log");
    while (written(file) < 10e6) await Bun.sleep(50); // warmed up
    const b0 = written(file), c0 = cpuMs(pid), t0 = performance.now();
    await Bun.sleep(SECONDS * 1000);
    const b1 = written(file), c1 = cpuMs(pid), t1 = performance.now();
    const mb = (b1 - b0) / 1e6;
    return { mbPerSec: mb / ((t1 - t0) / 1000), cpuMsPerMb: (c1 - c0) / mb };
  });
}

/** With keep 1, each rotation past the first drops 100M: F + F.1 then shrinks by about that. */
function dropped(before: number, after: number): number {
  return after < before ? Math.ceil((before - after) / 100e6) * 100e6 : 0;
}

interface Rss {
  total: number;
  anon: number;
  file: number;
  /** Round trips of `status` on the control socket while sampling, sorted. */
  statusMs: number[];
}

async function rss(writers: number): Promise<Rss> {
  const jobs = Array.from({ length: 10 }, (_, i) => job(`j${i}`, true, i < writers ? `/usr/bin/yes ${WORD}` : "/bin/sleep 3600")).join("");
  return withPmtr(jobs, async (pid, dir) => {
    await Bun.sleep(1000);
    if (writers > 0) while (written(join(dir, `j${writers - 1}.log`)) < 1e6) await Bun.sleep(50);
    const peak: Rss = { total: 0, anon: 0, file: 0, statusMs: [] };
    const until = performance.now() + SECONDS * 1000;
    while (performance.now() < until) {
      peak.total = Math.max(peak.total, memoryMb(pid));
      peak.anon = Math.max(peak.anon, memoryMb(pid, "RssAnon"));
      peak.file = Math.max(peak.file, memoryMb(pid, "RssFile"));
      const t0 = performance.now();
      const answer = await askPmtr({ op: "status", names: [] }, join(dir, "s"));
      if (!answer.ok) throw new Error(`status: ${answer.message}`);
      peak.statusMs.push(performance.now() - t0);
      await Bun.sleep(100);
    }
    peak.statusMs.sort((a, b) => a - b);
    return peak;
  });
}

console.log(`logs benchmark: ${machine()}`);
const direct = await throughput(false);
figure("one job, 100-byte lines, direct file (no pmtr in the path)", `${direct.mbPerSec.toFixed(0)} MB/s`);
const rotated = await throughput(true);
figure("one job, 100-byte lines, through pmtr (rotate 500M)", `${rotated.mbPerSec.toFixed(0)} MB/s, pmtr CPU ${rotated.cpuMsPerMb.toFixed(2)} ms/MB (${((rotated.cpuMsPerMb * rotated.mbPerSec) / 10).toFixed(0)} % of a core)`);
const idle = await rss(0);
const shown = (r: Rss) => `${r.total.toFixed(1)} MB (RssAnon ${r.anon.toFixed(1)}, RssFile ${r.file.toFixed(1)})`;
const trips = (r: Rss) => `status round trip median ${r.statusMs[r.statusMs.length >> 1]!.toFixed(1)} ms, max ${r.statusMs.at(-1)!.toFixed(1)} ms`;
const above = (r: Rss) => `+${(r.total - idle.total).toFixed(1)} MB (RssAnon +${(r.anon - idle.anon).toFixed(1)}, RssFile +${(r.file - idle.file).toFixed(1)})`;
figure("pmtr RSS, 10 rotated jobs idle (peak)", `${shown(idle)}; ${trips(idle)}`);
for (const writers of [1, 10]) {
  const busy = await rss(writers);
  figure(`pmtr RSS, ${writers} of 10 jobs writing flat out through pmtr (peak)`, `${shown(busy)}: ${above(busy)}; ${trips(busy)}`);
}
