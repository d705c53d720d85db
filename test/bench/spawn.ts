// Starting a process: latency of createSpawner().start() until the job has been exec'd (it is
// synchronous: clone + SPEC §3's steps + execve in spawn.c), for a plain job and for one with
// every setting; a burst of 100 `nice 5` starts; and what compiling the spawn routine costs
// (time, and RSS of a fresh process before and after). Prints numbers; docs/PERFORMANCE.md
// quotes them.

import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { makeJob } from "../../src/config/defaults.ts";
import type { JobSpec } from "../../src/config/model.ts";
import { createSpawner } from "../../src/os/spawn/index.ts";

const RUNS = 201;
const WARMUP = 20;

const exited = new Map<number, () => void>();
const done = new Set<number>();
const onExit = (pid: number) => {
  const resolve = exited.get(pid);
  if (resolve) resolve();
  else done.add(pid);
};
const waitExit = (pid: number) => (done.delete(pid) ? Promise.resolve() : new Promise<void>((r) => exited.set(pid, r)));

const job = (over: Partial<JobSpec> = {}): JobSpec => makeJob({ name: "bench", argv: ["/bin/true"], ...over });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

async function latency(label: string, j: JobSpec): Promise<void> {
  const sp = createSpawner({ onExit });
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    const outcome = await sp.start(j);
    const ms = performance.now() - t0;
    if (!outcome.ok) throw new Error(`${label}: start failed at ${outcome.step}: ${outcome.error}`);
    await waitExit(outcome.pid);
    if (i >= WARMUP) times.push(ms);
  }
  console.log(`${label.padEnd(52)} median ${fmt(median(times))}  (min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))})`);
}

async function burst(n: number): Promise<void> {
  const sp = createSpawner({ onExit });
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => sp.start(job({ argv: ["/bin/sleep", `${1000 + i}`], nice: 5 }))));
  const ms = performance.now() - t0;
  console.log(`${`${n} starts of \`nice 5\` jobs in a row`.padEnd(52)} all exec'd after ${fmt(ms)}`);
  for (const o of outcomes) if (o.ok) process.kill(-o.pid, "SIGTERM");
  for (const o of outcomes) if (o.ok) await waitExit(o.pid);
}

/** A fresh Bun process: RSS before and after compiling the routine, and the compile time. */
function compileCost(): void {
  const script = `
    const rss = () => Number(require("fs").readFileSync("/proc/self/status", "utf8").match(/^VmRSS:\\s*(\\d+)/m)[1]) / 1024;
    const { spawnRoutine } = await import(${JSON.stringify(`${import.meta.dir}/../../src/os/spawn/compile.ts`)});
    const { libc } = await import(${JSON.stringify(`${import.meta.dir}/../../src/os/libc.ts`)});
    libc(); Bun.gc(true);
    const before = rss();
    const t0 = performance.now();
    spawnRoutine();
    const ms = performance.now() - t0;
    Bun.gc(true);
    console.log(JSON.stringify({ ms, before, after: rss() }));`;
  const runs = Array.from({ length: 5 }, () => JSON.parse(Bun.spawnSync([process.execPath, "-e", script]).stdout.toString()) as { ms: number; before: number; after: number });
  const ms = median(runs.map((r) => r.ms));
  const mb = median(runs.map((r) => r.after - r.before));
  console.log(`${"compiling spawn.c with cc() (5 fresh processes)".padEnd(52)} median ${fmt(ms)}, RSS +${mb.toFixed(1)} MB`);
}

console.log(`machine: ${cpus().length} CPUs, ${cpus()[0]?.model}; Bun ${Bun.version}; load ${loadavg()[0]!.toFixed(2)}`);
compileCost();
await latency("plain job", job());
await latency("nice 5", job({ nice: 5 }));
await latency("nice 5, cpu 0, ulimit -n 4096, user nobody", job({ nice: 5, cpu: [0], ulimits: [{ resource: "RLIMIT_NOFILE", value: 4096 }], user: "nobody" }));
await burst(100);
console.log(`pmtr's threads meanwhile: ${readFileSync("/proc/self/status", "utf8").match(/^Threads:\s*(\d+)/m)?.[1]} (no helper process exists at any time)`);
