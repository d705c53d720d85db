// Memory: Rss, Pss and anonymous memory from /proc/PID/smaps_rollup (after `sync`) for a
// compiled Bun program that only waits (the floor); pmtr with 1, 100 and 1000 idle jobs, read
// 2 s after the jobs run and again once idle (45 s: the runtime's collector and scavenger have
// run by then), and the anonymous memory per job between 100 and 1000 jobs; 100 jobs with
// `nice 5`, with `-l FILE` (timestamped log lines, as with syslog), with the runtime's defaults
// (PMTR_RUNTIME_THREADS=default: every JIT tier) and with the baseline JIT off too;
// supervisord beside it when installed; and the peak RSS (GNU time) of short commands:
// `pmtr --version`, `-t`, `status`, `status --json`, `status NAME`. Prints a table;
// docs/PERFORMANCE.md quotes it. PMTR_BENCH_BIN=path measures another build.
//
// bun run test/bench/memory.ts            everything but the restarts
// bun run test/bench/memory.ts daemons    only the long-running variants
// bun run test/bench/memory.ts commands   only the short commands
// bun run test/bench/memory.ts restarts   only the 1000 restarts, as built and with the runtime's defaults: Rss after
//                                         the warm-up (300) and after 1000, CPU per restart

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchDir, PMTR, pmtrConfPath, pmtrSocketPath, sleepJobs, startPmtr, startSupervisord, withDaemon, type BenchJob } from "./lib/daemons.ts";
import { cpuTimeMs } from "./lib/proc.ts";
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

/** Anonymous memory once idle, by job count: the per-job figure is taken between 100 and 1000
 *  jobs, where start-up's one-off costs (JIT code, the heap's first growth) are in both. */
const idleAnonMb = new Map<number, number>();
const IDLE_MS = 45_000;

async function pmtrIdle(label: string, jobs: readonly BenchJob[], options: { env?: Record<string, string>; args?: string[]; idle?: boolean } = {}): Promise<void> {
  const start = (dir: string) => startPmtr(dir, jobs, (options.args ?? []).map((a) => a.replace("DIR", dir)), [], options.env);
  await withDaemon("memory", start, async (d) => {
    d.jobs.waitRunning(jobs.length, 60_000);
    const t0 = performance.now();
    Bun.sleepSync(SETTLE_MS);
    row(label, rollup(d.pid));
    if (options.idle) {
      Bun.sleepSync(Math.max(0, IDLE_MS - (performance.now() - t0)));
      const m = rollup(d.pid);
      idleAnonMb.set(jobs.length, m.anonMb);
      const [a100, a1000] = [idleAnonMb.get(100), idleAnonMb.get(1000)];
      const perJob = jobs.length === 1000 && a100 !== undefined && a1000 !== undefined ? `(+${(((a1000 - a100) * 1024) / 900).toFixed(1)} KB anon per job, 100 -> 1000 jobs)` : "";
      row(`  the same after ${IDLE_MS / 1000} s`, m, perJob);
    }
  });
}

async function supervisordIdle(jobs: readonly BenchJob[]): Promise<void> {
  const bin = Bun.which("supervisord");
  if (bin === null) {
    console.log("supervisord: not installed (Debian package supervisor), skipped");
    return;
  }
  await withDaemon("memory-sd", (dir) => startSupervisord(bin, dir, jobs), async (d) => {
    d.jobs.waitRunning(jobs.length, 60_000);
    Bun.sleepSync(SETTLE_MS);
    row(`supervisord, ${jobs.length} idle jobs`, rollup(d.pid));
  });
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
  const jobs = sleepJobs(100, 3_000_000);
  await withDaemon("memory-cmd", (dir) => startPmtr(dir, jobs), async (d, dir) => {
    d.jobs.waitRunning(jobs.length, 30_000);
    peak("Bun floor program (for comparison)", [floorBin, "--exit"]);
    peak("pmtr --version", [PMTR, "--version"]);
    peak("pmtr -t (100 jobs)", [PMTR, "-t", "-c", pmtrConfPath(dir)]);
    peak("pmtr status (100 jobs)", [PMTR, "-s", pmtrSocketPath(dir), "status"]);
    peak("pmtr status --json (100 jobs)", [PMTR, "-s", pmtrSocketPath(dir), "status", "--json"]);
    peak("pmtr status job-0", [PMTR, "-s", pmtrSocketPath(dir), "status", "job-0"]);
    peak("pmtr status, no pmtr running", [PMTR, "-s", join(dir, "none.sock"), "status"]);
  });
}

const ROUNDS = 10;
const WARM_UP_ROUNDS = 3;

/** 1000 restarts (10 rounds of `pmtr restart` of all 100 jobs, each round waited out): Rss
 *  after the warm-up rounds and after the last, and the daemon's CPU time per restart over the
 *  rounds after the warm-up (the kernel counts CPU in 10 ms ticks: 700 restarts make it exact
 *  to ~0.02 ms). `env` switches JIT tiers off for the whole run. */
async function restarts(label: string, env: Record<string, string> = {}): Promise<void> {
  const jobs = sleepJobs(100, 1_700_000);
  await withDaemon("memory-restarts", (dir) => startPmtr(dir, jobs, [], [], env), async (d, dir) => {
    d.jobs.waitRunning(jobs.length, 30_000);
    Bun.sleepSync(SETTLE_MS);
    const start = rollup(d.pid);
    const names = jobs.map((j) => j.name);
    const roundMs: number[] = [];
    const rss: string[] = [];
    let warm = start;
    let cpuAtWarmMs = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const t0 = performance.now();
      const r = Bun.spawnSync([PMTR, "-s", pmtrSocketPath(dir), "restart", ...names], { stdout: "pipe", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`pmtr restart failed (${r.exitCode}): ${r.stderr.toString()}`);
      d.jobs.waitRunning(jobs.length, 30_000);
      roundMs.push(performance.now() - t0);
      rss.push(rollup(d.pid).rssMb.toFixed(1));
      if (round === WARM_UP_ROUNDS) {
        Bun.sleepSync(SETTLE_MS);
        warm = rollup(d.pid);
        cpuAtWarmMs = cpuTimeMs(d.pid);
      }
    }
    const cpuPerRestartMs = (cpuTimeMs(d.pid) - cpuAtWarmMs) / ((ROUNDS - WARM_UP_ROUNDS) * jobs.length);
    Bun.sleepSync(SETTLE_MS);
    const end = rollup(d.pid);
    console.log(`${label.padEnd(44)} Rss start ${start.rssMb.toFixed(1)}, after ${WARM_UP_ROUNDS * 100} ${warm.rssMb.toFixed(1)}, after ${ROUNDS * 100} ${end.rssMb.toFixed(1)} MB (anon ${end.anonMb.toFixed(1)}); CPU ${cpuPerRestartMs.toFixed(2)} ms/restart; round of 100 median ${median(roundMs).toFixed(0)} ms`);
    console.log(`${"".padEnd(44)} Rss after each round: ${rss.join(" ")}`);
  });
}

console.log(`${machine()}; ${load()}; ${PMTR}`);
if (only === "restarts") {
  await restarts("pmtr, 1000 restarts");
  // pmtr runs without the DFG/FTL tiers (src/os/self/runtime-threads.ts); the runtime's defaults
  // (every tier, and its helper threads) beside it.
  await restarts("pmtr, 1000 restarts, PMTR_RUNTIME_THREADS=default", { PMTR_RUNTIME_THREADS: "default" });
  process.exit(0);
}
const dir = benchDir("memory-floor");
mkdirSync(dir, { recursive: true });
floor(dir);
if (only === undefined || only === "daemons") {
  await pmtrIdle("pmtr, 1 idle job", sleepJobs(1, 1_000_000), { idle: true });
  await pmtrIdle("pmtr, 100 idle jobs", sleepJobs(100, 1_100_000), { idle: true });
  await pmtrIdle("pmtr, 1000 idle jobs", sleepJobs(1000, 1_800_000), { idle: true });
  await pmtrIdle("pmtr, 100 idle jobs with nice 5", sleepJobs(100, 1_200_000, ["nice 5"]));
  await pmtrIdle("pmtr, 100 idle jobs, -l FILE", sleepJobs(100, 1_900_000), { args: ["-l", "DIR/pmtr.log"] });
  await pmtrIdle("pmtr, 100 jobs, PMTR_RUNTIME_THREADS=default", sleepJobs(100, 1_300_000), { env: { PMTR_RUNTIME_THREADS: "default" } });
  await pmtrIdle("pmtr, 100 jobs, BUN_JSC_useBaselineJIT=0", sleepJobs(100, 1_400_000), { env: { BUN_JSC_useBaselineJIT: "0" } });
  // No interpreter-only variant (BUN_JSC_useJIT=0): bun:ffi refuses to work without the JIT,
  // and pmtr cannot start without it.
  await supervisordIdle(sleepJobs(100, 1_600_000));
}
if (only === undefined || only === "commands") await shortCommands();
rmSync(dir, { recursive: true, force: true });
