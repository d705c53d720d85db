// Benchmark: the release artifacts of `make dist` / `make deb` — the size of each, and the
// start-up of each binary as a whole process (`--version`, and `-t` on examples/pmtr.conf),
// the arm64 one under qemu-user on this x64 machine (informational: qemu translates every
// instruction, a real arm64 host is far faster). 2 warm-up runs, then the median of 9.
// Prints numbers only; the figures are recorded in docs/PERFORMANCE.md.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };

const ROOT = resolve(import.meta.dir, "../..");
const WARMUP = 2;
const RUNS = 9;

function make(...args: string[]): void {
  const r = Bun.spawnSync(["make", "-s", "-C", ROOT, ...args], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`make ${args.join(" ")} failed`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(argv: string[]): { median: number; min: number; max: number } {
  const times: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const start = performance.now();
    const p = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - start;
    if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${p.exitCode}: ${p.stderr.toString().slice(0, 500)}`);
    if (run >= WARMUP) times.push(ms);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

make("dist", "deb");
const dist = (name: string) => resolve(ROOT, "dist", name);
const mib = (path: string) => (statSync(path).size / 2 ** 20).toFixed(1);
const x64 = dist(`pmtr-${pkg.version}-linux-x64`);
const arm64 = dist(`pmtr-${pkg.version}-linux-arm64`);
for (const name of [`pmtr-${pkg.version}-linux-x64`, `pmtr-${pkg.version}-linux-arm64`, `pmtr_${pkg.version}_amd64.deb`]) {
  console.log(`size ${name}: ${mib(dist(name))} MiB (${statSync(dist(name)).size} bytes)`);
}

const qemu = Bun.which("qemu-aarch64");
if (qemu === null) throw new Error("qemu-aarch64 is missing: install Debian's qemu-user (.ci/run installs it)");
const example = resolve(ROOT, "examples/pmtr.conf");
const show = (what: string, t: ReturnType<typeof time>) =>
  console.log(`${what}: median ${t.median.toFixed(0)} ms (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)})`);
show("x64 --version", time([x64, "--version"]));
show("x64 -t examples/pmtr.conf", time([x64, "-t", "-c", example]));
show("arm64 under qemu --version", time([qemu, arm64, "--version"]));
show("arm64 under qemu -t examples/pmtr.conf", time([qemu, arm64, "-t", "-c", example]));
