// Benchmark: `dist/pmtr -t` on a generated 1000-job configuration, timed as a whole process
// (start-up, read, parse, validate, exit), in one file and spread over 100 included files
// (SPEC §15). Target: median <= 100 ms for each. Prints numbers only;
// the figure is recorded in docs/PERFORMANCE.md. PMTR_BENCH_BIN=/path/to/pmtr compares another build.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseConfig } from "../../src/config/index.ts";

const PMTR = process.env.PMTR_BENCH_BIN ?? resolve(import.meta.dir, "../../dist/pmtr");
const JOBS = 1000;
const WARMUP = 3;
const RUNS = 21;

/** Every job uses most keywords, so the benchmark exercises the whole language. */
function generate(jobs: number): string {
  const out = ["report to udp://127.0.0.1:9999", "listen on udp://127.0.0.1:10000", ""];
  for (let i = 0; i < jobs; i++) {
    out.push(
      "job {",
      `  name job-${i}`,
      `  cmd /usr/bin/daemon-${i} --port ${10000 + i} "two words" --verbose`,
      `  dir /srv/job-${i}`,
      `  out job-${i}.out`,
      `  err job-${i}.err`,
      "  user daemon",
      `  env INSTANCE=${i}`,
      '  env GREETING="hello world"',
      `  nice ${(i % 40) - 20}`,
      `  cpu ${i % 2 === 0 ? "0,2-3" : "0x5"}`,
      "  ulimit -n 4096",
      "  ulimit {",
      "    -c unlimited",
      "    RLIMIT_NPROC 512",
      "  }",
      `  bounce every ${1 + (i % 24)}h`,
      "  depends {",
      `    /etc/job-${i}.conf`,
      "  }",
      `  order ${i % 10}`,
      ...(i % 50 === 0 ? ["  wait", "  once"] : []),
      "}",
      "",
    );
  }
  return out.join("\n");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const dir = mkdtempSync(join(tmpdir(), "pmtr-bench-"));
try {
  const text = generate(JOBS);
  const path = join(dir, "pmtr.conf");
  writeFileSync(path, text, { mode: 0o644 });

  const parsed = parseConfig(text);
  if (!parsed.ok || parsed.config.jobs.length !== JOBS) throw new Error("the generated configuration must be valid");

  const times: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const start = performance.now();
    const proc = Bun.spawnSync([PMTR, "-t", "-c", path], { stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - start;
    if (proc.exitCode !== 0) throw new Error(`pmtr -t exited ${proc.exitCode}: ${proc.stderr.toString().slice(0, 500)}`);
    if (run >= WARMUP) times.push(ms);
  }

  const inProcess: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    parseConfig(text);
    inProcess.push(performance.now() - start);
  }

  // The same jobs in 100 drop-ins of 10 jobs each, and a main file of globals and one include.
  const INCLUDE_FILES = 100;
  const dropIns = join(dir, "pmtr.d");
  mkdirSync(dropIns);
  const blocks = text.split("\njob {\n").slice(1).map((b) => `job {\n${b}`);
  const perFile = JOBS / INCLUDE_FILES;
  for (let f = 0; f < INCLUDE_FILES; f++) {
    writeFileSync(join(dropIns, `${String(f).padStart(3, "0")}.conf`), blocks.slice(f * perFile, (f + 1) * perFile).join("\n"), { mode: 0o644 });
  }
  const main = join(dir, "main.conf");
  writeFileSync(main, `report to udp://127.0.0.1:9999\ninclude ${dropIns}/*.conf\n`, { mode: 0o644 });
  const included: number[] = [];
  // A binary from before `include` (PMTR_BENCH_BIN) refuses the main file: that figure is skipped.
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const start = performance.now();
    // -v once, to check that every job was read; timed without it, as the one-file figure.
    const proc = Bun.spawnSync([PMTR, "-t", ...(run === 0 ? ["-v"] : []), "-c", main], { stdout: "pipe", stderr: "pipe" });
    const ms = performance.now() - start;
    if (proc.exitCode !== 0) break;
    if (run === 0 && proc.stdout.toString().split("\n").filter(Boolean).length !== JOBS) throw new Error("the included files must hold every job");
    if (run >= WARMUP) included.push(ms);
  }

  const empty = join(dir, "empty.conf");
  writeFileSync(empty, "", { mode: 0o644 });
  const baseline: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    Bun.spawnSync([PMTR, "-t", "-c", empty], { stdout: "ignore", stderr: "ignore" });
    baseline.push(performance.now() - start);
  }

  const f = (ms: number) => ms.toFixed(1);
  console.log(`config: ${JOBS} jobs, ${text.split("\n").length} lines, ${(text.length / 1024).toFixed(0)} KiB`);
  console.log(`pmtr -t, whole process (${RUNS} runs): median ${f(median(times))} ms, min ${f(Math.min(...times))} ms, max ${f(Math.max(...times))} ms (target <= 100 ms)`);
  if (included.length === 0) console.log("pmtr -t, included files: this binary has no include");
  else console.log(`pmtr -t, the same jobs in ${INCLUDE_FILES} included files (${RUNS} runs): median ${f(median(included))} ms, min ${f(Math.min(...included))} ms, max ${f(Math.max(...included))} ms (target <= 100 ms)`);
  console.log(`pmtr -t on an empty file (start-up alone): median ${f(median(baseline))} ms`);
  console.log(`parseConfig in process: median ${f(median(inProcess))} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
