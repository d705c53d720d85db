// Thousands of random mutations of a valid configuration: parseConfig never throws, and every
// result is either a frozen model or a list of errors each pointing at a line of the input
// (or line 0 for the "more errors not shown" summary). Seeded, so a failure reproduces.

import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../../src/config/index.ts";

const BASE = `# a valid configuration touching every keyword
report to udp://127.0.0.1:9999
listen on udp://127.0.0.1:10000
job {
  name demux
  cmd /usr/bin/demux -v "two words" ""
  dir /data
  out demux.out
  err syslog
  in demux.in
  user daemon
  env VAR=VALUE
  env GREETING="hello world"
  nice 5
  cpu 0,2-4
  ulimit -n 4096
  ulimit {
    -c unlimited
    RLIMIT_AS 100000
  }
  bounce every 1d
  depends {
    /etc/demux.conf
  }
  order 2
  wait
  once
  disable
}
job {
  name setup
  cmd /bin/mkdir -p /tmp/x
  cpu 0x3
}
`;

const PIECES = [
  "{", "}", '"', "#", " ", "\t", "\n", "\r\n", "\0", "\x1b", "\uFEFF", "é", "=", "-", "0x", ",", "@", ":", "/",
  "job", "name", "cmd", "dir", "out", "err", "in", "user", "env", "nice", "cpu", "ulimit", "bounce", "every",
  "depends", "order", "wait", "once", "disable", "report", "to", "listen", "on", "udp://", "unlimited", "-n",
  "RLIMIT_NOFILE", "constructor", "__proto__", "99", "-21", "1d", "0", "4294967296", "job {", "}\n", "\njob {\n",
];

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(text: string, random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const at = () => Math.floor(random() * (text.length + 1));
  const lines = () => text.split("\n");
  switch (Math.floor(random() * 8)) {
    case 0: { const i = at(); return text.slice(0, i) + pick(PIECES) + text.slice(i); }
    case 1: { const i = at(); return text.slice(0, i) + text.slice(i + 1 + Math.floor(random() * 8)); }
    case 2: { const i = at(); return text.slice(0, i) + String.fromCharCode(Math.floor(random() * 0x250)) + text.slice(i); }
    case 3: { const ls = lines(); ls.splice(Math.floor(random() * ls.length), 1); return ls.join("\n"); }
    case 4: { const ls = lines(); const i = Math.floor(random() * ls.length); ls.splice(i, 0, ls[i] ?? ""); return ls.join("\n"); }
    case 5: { const ls = lines(); const i = Math.floor(random() * ls.length); const j = Math.floor(random() * ls.length); [ls[i], ls[j]] = [ls[j] ?? "", ls[i] ?? ""]; return ls.join("\n"); }
    case 6: { const ls = lines(); const i = Math.floor(random() * ls.length); ls[i] = `${pick(PIECES)} ${pick(PIECES)} ${pick(PIECES)}`; return ls.join("\n"); }
    default: { const i = at(); const j = at(); return text.slice(0, Math.min(i, j)) + text.slice(Math.max(i, j)); }
  }
}

describe("random mutations of a valid configuration", () => {
  test("the base configuration is valid", () => {
    expect(parseConfig(BASE).ok).toBe(true);
  });

  test("5000 mutants: never a throw; a frozen model or errors with real line numbers", () => {
    const random = rng(20240611);
    let valid = 0;
    let invalid = 0;
    for (let n = 0; n < 5000; n++) {
      let text = BASE;
      const rounds = 1 + Math.floor(random() * 6);
      for (let r = 0; r < rounds; r++) text = mutate(text, random);
      const lineCount = text.split("\n").length;
      let result: ReturnType<typeof parseConfig>;
      try {
        result = parseConfig(text);
      } catch (e) {
        throw new Error(`parseConfig threw on mutant ${n}: ${String(e)}\n--- input ---\n${text}`);
      }
      if (result.ok) {
        valid++;
        expect(Object.isFrozen(result.config)).toBe(true);
        for (const job of result.config.jobs) {
          expect(job.name.length).toBeGreaterThan(0);
          expect(job.argv[0]?.startsWith("/")).toBe(true);
          expect(job.nice).toBeGreaterThanOrEqual(-20);
          expect(job.nice).toBeLessThanOrEqual(19);
        }
      } else {
        invalid++;
        expect(result.errors.length).toBeGreaterThan(0);
        for (const e of result.errors) {
          const inRange = e.line >= 1 && e.line <= lineCount;
          if (!inRange && e.line !== 0) throw new Error(`mutant ${n}: error line ${e.line} outside 1..${lineCount}: ${e.message}\n--- input ---\n${text}`);
          expect(e.message.length).toBeGreaterThan(0);
          expect(e.message).not.toContain("\n");
        }
      }
    }
    // Both outcomes must actually be exercised for the test to mean anything.
    expect(valid).toBeGreaterThan(100);
    expect(invalid).toBeGreaterThan(1000);
  });

  test("pure noise: random strings of config characters", () => {
    const random = rng(7);
    for (let n = 0; n < 2000; n++) {
      let text = "";
      const length = Math.floor(random() * 200);
      for (let i = 0; i < length; i++) text += PIECES[Math.floor(random() * PIECES.length)];
      const result = parseConfig(text);
      if (!result.ok) for (const e of result.errors) expect(e.line).toBeGreaterThanOrEqual(0);
    }
  });
});
