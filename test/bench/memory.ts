// Memory: Rss, Pss and anonymous memory from /proc/PID/smaps_rollup (after `sync` and a settle
// of 2 s) for a compiled Bun program that only waits (the floor), pmtr with 1 and 100 idle
// jobs (plain, and `nice 5`), the same with JIT tiers switched off, and supervisord beside it
// when installed; and the peak RSS (wait4's ru_maxrss) of short commands: `pmtr -t` and
// `pmtr status`. Prints a table; docs/PERFORMANCE.md quotes it.
//
// bun run test/bench/memory.ts            everything
// bun run test/bench/memory.ts daemons    only the long-running variants

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchDir, PMTR, pmtrConfPath, pmtrSocketPath, sleepJobs, startPmtr, startSupervisord, type BenchJob } from "./lib/daemons.ts";
import { load, machine, median } from "./lib/report.ts";

const SETTLE_MS = 2000;
const GNU_TIME = "/usr/bin/time";
const PEAK_RUNS = 5;
const only = process.argv[2];

interface Memory {
  rssMb: number;
  pssMb: number;
  anonMb: number;
}

function rollup(pid: number): Memory {
  Bun.spawnSync(["sync"]);
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (name: string) => Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return { rssMb: kb("Rss") / 1024, pssMb: kb("Pss") / 1024, anonMb: kb("Anonymous") / 1024 };
}

function row(label: string, m: Memory, note = ""): void {
  console.log(`${label.padEnd(44)} Rss ${m.rssMb.toFixed(1).padStart(5)} MB  Pss ${m.pssMb.toFixed(1).padStart(5)} MB  Anon ${m.anonMb.toFixed(1).padStart(5)} MB${note ? `  ${note}` : ""}`);
}

let floorBin = "";

/** A compiled Bun binary with the same build flags as dist/pmtr that only waits. */
function floor(dir: string): void {
  const src = join(dir, "wait.ts");
  writeFileSync(src, 'if (process.argv[2] !== "--exit") setInterval(() => {}, 2 ** 31 - 1);\n');
  const bin = join(dir, "wait");
  floorBin = bin;
  const bun = resolve(import.meta.dir, "../../node_modules/.bin/bun");
  const built = Bun.spawnSync([bun, "build", "--compile", "--minify", "--bytecode", "--format=esm", src, "--outfile", bin]);
  if (built.exitCode !== 0) throw new Error(`building the floor program: ${built.stderr}`);
  const proc = Bun.spawn([bin], { stdio: ["ignore", "ignore", "ignore"] });
  Bun.sleepSync(SETTLE_MS);
  row("Bun floor (compiled, only waits)", rollup(proc.pid));
  proc.kill("SIGKILL");
}

let oneJobAnonMb: number | null = null;

async function pmtrIdle(label: string, jobs: readonly BenchJob[], env: Record<string, string> = {}): Promise<void> {
  const dir = benchDir("memory");
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const d = startPmtr(dir, jobs);
  process.env = saved;
  try {
    d.jobs.waitRunning(jobs.length, 30_000);
    Bun.sleepSync(SETTLE_MS);
    const m = rollup(d.pid);
    if (jobs.length === 1) oneJobAnonMb = m.anonMb;
    const perJob = jobs.length > 1 && oneJobAnonMb !== null ? `(+${(((m.anonMb - oneJobAnonMb) * 1024) / (jobs.length - 1)).toFixed(1)} KB anon per job over 1 job)` : "";
    row(label, m, perJob);
    await d.shutdown();
  } catch (e) {
    await d.cleanup();
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function supervisordIdle(jobs: readonly BenchJob[]): Promise<void> {
  const bin = Bun.which("supervisord");
  if (bin === null) {
    console.log("supervisord: not installed (Debian package supervisor), skipped");
    return;
  }
  const dir = benchDir("memory-sd");
  const d = startSupervisord(bin, dir, jobs);
  try {
    d.jobs.waitRunning(jobs.length, 60_000);
    Bun.sleepSync(SETTLE_MS);
    row(`supervisord, ${jobs.length} idle jobs`, rollup(d.pid));
    await d.shutdown();
  } catch (e) {
    await d.cleanup();
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median peak RSS of a command run to completion, from GNU time (Debian package `time`):
 *  Bun's own resourceUsage().maxRSS counts the spawning process's memory too (its children
 *  share its memory until they exec), so /bin/true would show ~27 MB. */
function peak(label: string, argv: string[]): void {
  if (!existsSync(GNU_TIME)) {
    console.log(`${label.padEnd(44)} skipped: ${GNU_TIME} missing (Debian package time)`);
    return;
  }
  const peaks: number[] = [];
  for (let i = 0; i < PEAK_RUNS; i++) {
    const proc = Bun.spawnSync([GNU_TIME, "-f", "%M", ...argv], { stdio: ["ignore", "ignore", "pipe"] });
    peaks.push(Number(proc.stderr.toString().trim().split("\n").pop()) / 1024);
  }
  console.log(`${label.padEnd(44)} peak Rss ${median(peaks).toFixed(1).padStart(5)} MB (median of ${PEAK_RUNS})`);
}

async function shortCommands(): Promise<void> {
  const dir = benchDir("memory-cmd");
  try {
    const jobs = sleepJobs(100, 3_000_000);
    const d = startPmtr(dir, jobs);
    try {
      d.jobs.waitRunning(jobs.length, 30_000);
      peak("Bun floor program (for comparison)", [floorBin, "--exit"]);
      peak("pmtr --version", [PMTR, "--version"]);
      peak("pmtr -t (100 jobs)", [PMTR, "-t", "-c", pmtrConfPath(dir)]);
      peak("pmtr status (100 jobs)", [PMTR, "-s", pmtrSocketPath(dir), "status"]);
      await d.shutdown();
    } catch (e) {
      await d.cleanup();
      throw e;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`${machine()}; ${load()}; ${PMTR}`);
const dir = benchDir("memory-floor");
mkdirSync(dir, { recursive: true });
floor(dir);
await pmtrIdle("pmtr, 1 idle job", sleepJobs(1, 1_000_000));
await pmtrIdle("pmtr, 100 idle jobs", sleepJobs(100, 1_100_000));
await pmtrIdle("pmtr, 100 idle jobs with nice 5", sleepJobs(100, 1_200_000, ["nice 5"]));
await pmtrIdle("pmtr, 100 jobs, BUN_JSC_useDFGJIT=0", sleepJobs(100, 1_300_000), { BUN_JSC_useDFGJIT: "0" });
await pmtrIdle("pmtr, 100 jobs, BUN_JSC_useFTLJIT=0", sleepJobs(100, 1_400_000), { BUN_JSC_useFTLJIT: "0" });
await pmtrIdle("pmtr, 100 jobs, BUN_JSC_useJIT=0 (interpreter)", sleepJobs(100, 1_500_000), { BUN_JSC_useJIT: "0" });
await supervisordIdle(sleepJobs(100, 1_600_000));
if (only !== "daemons") await shortCommands();
rmSync(dir, { recursive: true, force: true });
