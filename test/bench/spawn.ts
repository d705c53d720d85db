// Starting a job: latency of createSpawner().start() until the job has been exec'd, through the
// direct path and through the exec helper, the helper's peak memory, and a burst of helper
// starts under the concurrency bound. Prints numbers; docs/PERFORMANCE.md quotes them.
// Run `make` first: the helper is dist/pmtr.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { makeJob } from "../../src/config/defaults.ts";
import type { JobSpec } from "../../src/config/model.ts";
import { createSpawner } from "../../src/os/spawn.ts";

const PMTR = resolve(import.meta.dir, "../../dist/pmtr");
const RUNS = 41;
const WARMUP = 5;

const exited = new Map<number, () => void>();
const exitWaits = new Map<number, Promise<void>>();
const onExit = (pid: number) => {
  const done = exited.get(pid);
  if (done) done();
  else exitWaits.set(pid, Promise.resolve());
};
const waitExit = (pid: number) =>
  exitWaits.get(pid) ?? new Promise<void>((r) => exited.set(pid, r));

function job(over: Partial<JobSpec> = {}): JobSpec {
  return makeJob({ name: "bench", argv: ["/bin/true"], ...over });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

async function latency(label: string, allowDirect: boolean, j: JobSpec): Promise<number> {
  const sp = createSpawner({ helperPath: PMTR, onExit, allowDirect });
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    const outcome = await sp.start(j);
    const ms = performance.now() - t0;
    if (!outcome.ok) throw new Error(`${label}: start failed at ${outcome.step}: ${outcome.error}`);
    await waitExit(outcome.pid);
    if (i >= WARMUP) times.push(ms);
  }
  const m = median(times);
  console.log(`${label.padEnd(44)} median ${fmt(m)}  (min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))})`);
  return m;
}

/** Peak and current memory of a helper that has done all its work but the open of `in`:
 *  a FIFO without a writer holds it there, just before execve. */
async function helperMemory(dir: string): Promise<void> {
  const fifo = join(dir, "fifo");
  Bun.spawnSync(["/usr/bin/mkfifo", fifo]);
  const before = new Set(children());
  const sp = createSpawner({ helperPath: PMTR, onExit, allowDirect: false });
  const pending = sp.start(job({ in: fifo }));
  let pid: number | undefined;
  const deadline = Date.now() + 5000;
  while (pid === undefined && Date.now() < deadline) {
    await Bun.sleep(5);
    pid = children().find((p) => !before.has(p) && isBlockedInOpen(p));
  }
  if (pid === undefined) throw new Error("helper did not reach the open of its FIFO");
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(\\d+) kB`, "m"))?.[1];
  console.log(`helper memory before execve                  VmHWM ${(Number(field("VmHWM")) / 1024).toFixed(1)} MB, VmRSS ${(Number(field("VmRSS")) / 1024).toFixed(1)} MB, threads ${status.match(/^Threads:\s*(\d+)/m)?.[1]}`);
  await Bun.write(fifo, ""); // a writer: the helper's open returns and /bin/true runs
  const outcome = await pending;
  if (outcome.ok) await waitExit(outcome.pid);
}

function children(): number[] {
  const text = readFileSync(`/proc/self/task/${process.pid}/children`, "utf8");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

function isBlockedInOpen(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/wchan`, "utf8").includes("wait_for_partner");
  } catch {
    return false;
  }
}

async function burst(n: number, maxConcurrentHelpers: number): Promise<void> {
  const sp = createSpawner({ helperPath: PMTR, onExit, allowDirect: false, maxConcurrentHelpers });
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, () => sp.start(job({ argv: ["/bin/sleep", "5"] }))));
  const ms = performance.now() - t0;
  console.log(`${n} helper starts at once, ${maxConcurrentHelpers} concurrent`.padEnd(45) + `all exec'd after ${fmt(ms)}`);
  for (const o of outcomes) if (o.ok) process.kill(-o.pid, "SIGTERM");
  for (const o of outcomes) if (o.ok) await waitExit(o.pid);
}

async function bareStart(): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    const p = Bun.spawn([PMTR, "--version"], { stdio: ["ignore", "ignore", "ignore"] });
    await p.exited;
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  console.log(`${"dist/pmtr --version (whole process)".padEnd(44)} median ${fmt(median(times))}`);
}

const dir = mkdtempSync(join(tmpdir(), "pmtr-bench-spawn-"));
try {
  console.log(`machine: ${cpus().length} CPUs, ${cpus()[0]?.model}; Bun ${Bun.version}`);
  await latency("direct path (plain job)", true, job());
  await latency("helper path (plain job forced through it)", false, job());
  await latency("helper path (nice 5, cpu 0, ulimit -n, user)", true, job({ nice: 5, cpu: [0], ulimits: [{ resource: "RLIMIT_NOFILE", value: 4096 }], user: "nobody" }));
  await bareStart();
  await helperMemory(dir);
  await burst(20, 4);
  await burst(20, 1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
