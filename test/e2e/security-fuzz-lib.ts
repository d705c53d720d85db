// Shared by the security fuzz tests (security-fuzz-*.test.ts): a seeded random source, so a
// failure names the seed that reproduces it, and pmtr's footprint as /proc shows it.

import { readdirSync } from "node:fs";
import { readOr } from "../helpers.ts";

/** mulberry32: small, fast, and the same sequence for the same seed on every run. */
export function randomSource(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
    /** `bytes` with 1-4 random edits: a byte replaced, inserted or deleted. */
    mutate(bytes: Uint8Array): Uint8Array {
      let b = Array.from(bytes);
      for (let edits = 1 + int(4); edits > 0; edits--) {
        const at = int(b.length + 1);
        const kind = int(3);
        if (kind === 0 && at < b.length) b[at] = int(256);
        else if (kind === 1) b.splice(at, 0, int(256));
        else if (at < b.length) b.splice(at, 1);
      }
      return Uint8Array.from(b);
    },
  };
}

/** Resident set size of PID in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  return Number(readOr(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB$/m)?.[1] ?? NaN);
}

export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

export const MiB = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
