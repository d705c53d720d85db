// Benchmark: `dist/pmtr status` as a whole process (start-up, connect, request, answer, table,
// exit) against a running pmtr supervising 1000 jobs (PMTR_BENCH_JOBS to change). Targets:
// median <= 50 ms for the table with 1000 jobs (issue 10); `--json` also reads every job's
// process-group memory and CPU from /proc, `status NAME` one job's. Prints numbers only; the
// figures are recorded in docs/PERFORMANCE.md. PMTR_BENCH_BIN=/path/to/pmtr compares another build.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const PMTR = process.env.PMTR_BENCH_BIN ?? resolve(import.meta.dir, "../../dist/pmtr");
const JOBS = Number(process.env.PMTR_BENCH_JOBS ?? 1000);
const WARMUP = 3;
const RUNS = 31;

const dir = mkdtempSync(join(tmpdir(), "pmtr-bench-status-"));
const conf = join(dir, "pmtr.conf");
const sock = join(dir, "pmtr.sock");
writeFileSync(conf, Array.from({ length: JOBS }, (_, i) => `job {\n  name job-${i}\n  cmd /bin/sleep ${3600 + i}\n}\n`).join(""), { mode: 0o644 });

const daemon = Bun.spawn([PMTR, "-F", "-c", conf, "-s", sock], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });

/** Wall time, and the client's CPU time (user + system): on a machine busy with other work the
 *  wall time mostly measures waiting for a core, the CPU time what the command costs. */
function status(args: string[] = []): { code: number; ms: number; cpuMs: number; bytes: number } {
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync([PMTR, "-s", sock, "status", ...args], { stdout: "pipe", stderr: "pipe" });
  const cpu = r.resourceUsage.cpuTime;
  return { code: r.exitCode, ms: (Bun.nanoseconds() - t0) / 1e6, cpuMs: Number(cpu.user + cpu.system) / 1000, bytes: r.stdout.length };
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms (min ${s[0]!.toFixed(1)}, max ${s.at(-1)!.toFixed(1)})`;
}

try {
  // Every job running: status exits 0.
  const deadline = Date.now() + 60_000;
  while (status().code !== 0) {
    if (Date.now() > deadline || daemon.exitCode !== null) throw new Error(`pmtr did not get ${JOBS} jobs running (is supervision built?)`);
    await Bun.sleep(100);
  }
  for (const args of [[], ["--json"], ["job-7"]]) {
    for (let i = 0; i < WARMUP; i++) status(args);
    const runs = Array.from({ length: RUNS }, () => status(args));
    if (runs.some((r) => r.code !== 0)) throw new Error("a status run failed");
    console.log(`pmtr status ${args.join(" ")} with ${JOBS} jobs (${runs[0]!.bytes} bytes out), ${RUNS} runs: ${summary(runs.map((r) => r.ms))}; client CPU ${summary(runs.map((r) => r.cpuMs))}`);
  }
  const version = Array.from({ length: RUNS }, () => {
    const t0 = Bun.nanoseconds();
    const r = Bun.spawnSync([PMTR, "--version"], { stdout: "ignore" });
    const cpu = r.resourceUsage.cpuTime;
    return { ms: (Bun.nanoseconds() - t0) / 1e6, cpuMs: Number(cpu.user + cpu.system) / 1000 };
  });
  console.log(`for comparison, pmtr --version: ${summary(version.map((v) => v.ms))}; CPU ${summary(version.map((v) => v.cpuMs))}`);
} finally {
  daemon.kill("SIGTERM");
  await daemon.exited;
  rmSync(dir, { recursive: true, force: true });
}
