// How the supervision benchmarks print: one line per figure, medians with min and max.

import { cpus } from "node:os";
import { readOr } from "./proc.ts";

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

export function ms(x: number): string {
  return `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`;
}

/** "median 3.10 ms (min 2.40, max 9.80, n 50)". */
export function summary(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${ms(median(s))} (min ${ms(s[0] ?? NaN)}, max ${ms(s.at(-1) ?? NaN)}, n ${s.length})`;
}

export function figure(label: string, value: string): void {
  console.log(`${label.padEnd(58)} ${value}`);
}

export function machine(): string {
  const os = readOr("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? "unknown OS";
  return `${new Date().toISOString().slice(0, 10)}; ${cpus().length} CPUs, ${cpus()[0]?.model ?? "?"}; ${os}; Bun ${Bun.version}; ${load()}`;
}

/** Other work on the machine skews every figure here; print it beside them. */
export function load(): string {
  return `load average ${readOr("/proc/loadavg").split(" ").slice(0, 3).join(" ")}`;
}
