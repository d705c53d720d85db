// Shared by the reliability suite (docs/RELIABILITY.md): the short/long switch, a seeded
// random source, config mutators, and what the suite observes of processes through /proc.
// Everything is seeded, so a failure names a seed and case number that reproduce it.

import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { childrenOf, procStat, readOr } from "../helpers.ts";

/** Where failed tests' pmtr logs and every run's figures are kept. */
export const LOG_DIR = join(tmpdir(), "pmtr-reliability-logs");
/** RELIABILITY_LONG=1: minutes of load instead of CI's short form (docs/RELIABILITY.md). */
export const LONG = process.env.RELIABILITY_LONG === "1";
/** RELIABILITY_SEED=N replays a run; by default each run uses a new seed, printed. */
export const SEED = Number(process.env.RELIABILITY_SEED ?? Date.now() % 1_000_000_007);

const ROOT = resolve(import.meta.dir, "../..");
/** The configurations mutations start from: the test fixtures and the shipped example. */
export const SEED_FILES = ["test/fixtures/configs/valid.conf", "test/fixtures/configs/invalid.conf", "test/fixtures/configs/crlf.conf", "examples/pmtr.conf"].map(
  (p) => ({ path: p, bytes: new Uint8Array(readFileSync(resolve(ROOT, p))) }),
);

/** One line the suite prints for docs/RELIABILITY.md: `reliability: NAME key=value ...`. */
export function report(name: string, figures: Record<string, string | number>): void {
  const line = `reliability: ${name} ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(" ")}`;
  console.log(line);
  // Also kept in a file: RELIABILITY.md's figures come from there.
  mkdirSync(LOG_DIR, { recursive: true });
  appendFileSync(join(LOG_DIR, "figures.txt"), `${new Date().toISOString()} ${LONG ? "long" : "short"} ${line}\n`);
}

// ---- a seeded random source (mulberry32) --------------------------------------------------

export class Rand {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// ---- config mutators -------------------------------------------------------------------------

const KEYWORDS = ["job", "name", "cmd", "dir", "out", "err", "in", "user", "env", "nice", "cpu", "ulimit", "bounce", "depends", "order", "wait", "once", "disable", "report", "listen", "to", "on", "every", "{", "}", "#"];
const VALUES = [
  "", "0", "-0", "1", "-1", "19", "20", "-20", "-21", "99", "2147483647", "2147483648", "-2147483649", "9007199254740993", "1e3", "0x", "0x0", "0xffffffffffffffffffff",
  "1.5", "NaN", "Infinity", "unlimited", "infinity", "0-3", "3-0", "0,2-4", "1023", "1024", "-", ",", "0-", "-n", "-Z", "RLIMIT_NOFILE", "RLIMIT_", "every", "10", "10s",
  "0s", "1d", "366d", "9999999999999999999d", "to", "on", "udp://127.0.0.1:9999", "udp://[::1]:0", "udp://:99999", "udp://host:1@", "udp://239.0.0.1:9@lo", "tcp://x:1",
  "/bin/true", "/", "relative/path", "../..", "/dev/null", "syslog", "A=B", "=B", "1A=B", "A=", "A", "\"", "\"\"", "\"a b\"", "\"unterminated", "{", "}", "{ }", "#",
  "a#b", "x".repeat(300), "é", "\u00a0", "\u200b", "\ud83d\ude00", "\u202e", "\t", "\r", "\x1b[31m", "\x7f", "daemon", "root", "65535", "4294967295", "nobody", "__proto__", "constructor",
];

/** A random statement line: a keyword (or not), then 0-4 values. */
function randomLine(r: Rand): string {
  const words = [r.chance(0.85) ? r.pick(KEYWORDS) : r.pick(VALUES)];
  for (let n = r.int(5); n > 0; n--) words.push(r.pick(VALUES));
  return " ".repeat(r.int(4)) + words.join(r.chance(0.9) ? " " : "\t");
}

/** A configuration generated from the grammar's vocabulary, well formed or nearly. */
export function randomConfig(r: Rand): string {
  const lines: string[] = [];
  for (let jobs = r.int(5); jobs > 0; jobs--) {
    if (r.chance(0.3)) lines.push(randomLine(r));
    lines.push(r.chance(0.9) ? "job {" : randomLine(r));
    if (r.chance(0.9)) lines.push(`  name j${r.int(6)}`);
    if (r.chance(0.9)) lines.push(`  cmd /bin/true ${r.pick(VALUES)}`);
    for (let n = r.int(8); n > 0; n--) lines.push(randomLine(r));
    if (r.chance(0.9)) lines.push("}");
  }
  return lines.join(r.chance(0.1) ? "\r\n" : "\n") + (r.chance(0.8) ? "\n" : "");
}

const enc = new TextEncoder();

function splitLines(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 10) {
      out.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function insertAt(bytes: Uint8Array, at: number, piece: Uint8Array): Uint8Array {
  return concat([bytes.subarray(0, at), piece, bytes.subarray(at)]);
}

/** The mutation operators, by name (the name goes into a failure message). `sources` are the
 *  files spliceOther takes pieces from. */
export const MUTATIONS: Record<string, (r: Rand, b: Uint8Array, sources: readonly Uint8Array[]) => Uint8Array> = {
  flipBits(r, b) {
    const out = b.slice();
    for (let n = 1 + r.int(4); n > 0 && out.length > 0; n--) out[r.int(out.length)]! ^= 1 << r.int(8);
    return out;
  },
  randomByte(r, b) {
    const out = b.slice();
    if (out.length > 0) out[r.int(out.length)] = r.int(256);
    return out;
  },
  truncate: (r, b) => b.slice(0, r.int(b.length + 1)),
  deleteLine(r, b) {
    const lines = splitLines(b);
    if (lines.length > 0) lines.splice(r.int(lines.length), 1);
    return concat(lines);
  },
  duplicateLine(r, b) {
    const lines = splitLines(b);
    if (lines.length > 0) {
      const i = r.int(lines.length);
      lines.splice(i, 0, ...Array.from({ length: 1 + r.int(3) }, () => lines[i]!));
    }
    return concat(lines);
  },
  swapLines(r, b) {
    const lines = splitLines(b);
    if (lines.length > 1) {
      const i = r.int(lines.length);
      const j = r.int(lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    }
    return concat(lines);
  },
  insertLine(r, b) {
    const lines = splitLines(b);
    lines.splice(r.int(lines.length + 1), 0, enc.encode(randomLine(r) + "\n"));
    return concat(lines);
  },
  replaceWord(r, b) {
    const text = new TextDecoder().decode(b);
    const words = [...text.matchAll(/[^\s]+/g)];
    if (words.length === 0) return b;
    const w = r.pick(words);
    return enc.encode(text.slice(0, w.index) + r.pick([...VALUES, ...KEYWORDS]) + text.slice(w.index! + w[0].length));
  },
  insertNul: (r, b) => insertAt(b, r.int(b.length + 1), new Uint8Array([0])),
  insertControl: (r, b) => insertAt(b, r.int(b.length + 1), new Uint8Array([r.pick([1, 8, 11, 12, 13, 27, 127])])),
  invalidUtf8: (r, b) => insertAt(b, r.int(b.length + 1), new Uint8Array(r.pick([[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]))),
  bom: (_r, b) => insertAt(b, 0, new Uint8Array([0xef, 0xbb, 0xbf])),
  crlf: (_r, b) => enc.encode(new TextDecoder().decode(b).replace(/\n/g, "\r\n")),
  loneCr: (_r, b) => enc.encode(new TextDecoder().decode(b).replace(/\n/g, "\r")),
  hugeLine(r, b) {
    const lines = splitLines(b);
    const word = r.pick(["x", "a ", "\"", "{", "-", "0", "é"]);
    // Big inputs are rarer: they cost the most time per case, and one in a few hundred finds what
    // size alone can break.
    const size = r.chance(0.05) ? 1 << 20 : r.pick([4096, 65536]);
    lines.splice(r.int(lines.length + 1), 0, enc.encode(`${r.pick(["  cmd /bin/true ", "  name ", "  env A=", "", "# "])}${word.repeat(Math.ceil(size / word.length))}\n`));
    return concat(lines);
  },
  manyLines(r, b) {
    const line = enc.encode(r.pick(["job {\n", "}\n", "  wait\n", "bogus\n", "\n", "  env A=B\n", "  ulimit -n 1\n"]));
    return concat([b, ...Array.from({ length: r.chance(0.1) ? 20000 : 1000 }, () => line)]);
  },
  deepBraces(r, b) {
    const depth = r.chance(0.05) ? 100_000 : r.chance(0.3) ? 10_000 : 100;
    const open = r.pick(["job {\n", "ulimit {\n", "depends {\n", "{\n"]);
    return concat([b, enc.encode(open.repeat(depth)), enc.encode(r.chance(0.5) ? "}\n".repeat(depth) : "")]);
  },
  spliceOther(r, b, sources) {
    const other = r.pick(sources);
    const from = r.int(other.length + 1);
    return insertAt(b, r.int(b.length + 1), other.subarray(from, from + r.int(200)));
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/** One fuzz case: a seed file (or a generated file) put through 1-4 mutations. */
export function fuzzCase(r: Rand): { bytes: Uint8Array; recipe: string } {
  let bytes: Uint8Array;
  let recipe: string;
  if (r.chance(0.2)) {
    bytes = enc.encode(randomConfig(r));
    recipe = "random";
  } else {
    const seed = r.pick(SEED_FILES);
    bytes = seed.bytes;
    recipe = seed.path;
  }
  const mutated = mutate(r, bytes, SEED_FILES.map((f) => f.bytes));
  return { bytes: mutated.bytes, recipe: `${recipe}${mutated.recipe}` };
}

/** `bytes` put through 0-4 mutations (mostly 1-2); the recipe names them. */
export function mutate(r: Rand, bytes: Uint8Array, sources: readonly Uint8Array[]): { bytes: Uint8Array; recipe: string } {
  let recipe = "";
  for (let n = r.chance(0.1) ? 0 : 1 + r.int(r.chance(0.7) ? 2 : 4); n > 0; n--) {
    const name = r.pick(MUTATION_NAMES);
    bytes = MUTATIONS[name]!(r, bytes, sources);
    recipe += ` ${name}`;
  }
  return { bytes, recipe };
}

// ---- what an error line must look like ---------------------------------------------------------

/** The longest error message expected (the longest fixed wording with two values cut to 48). */
const MAX_MESSAGE = 400;

/**
 * Problems with pmtr's error lines for a file `path` whose content is `bytes`: every line must be
 * `PATH:LINE: message` with LINE within the file, or one of the documented whole-file lines (not
 * text, with the line of the first bad byte; too big; the count of errors not shown).
 */
export function badErrorLines(path: string, bytes: Uint8Array, lines: readonly string[]): string[] {
  let lineCount = 1;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lineCount++;
  const problems: string[] = [];
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const positioned = new RegExp(`^${escaped}:(\\d+): \\S`);
  const wholeFile = new RegExp(
    `^${escaped}: (?:contains a NUL byte on line (?<line>\\d+): not a text file|is not UTF-8 text \\(first invalid byte on line (?<utf>\\d+)\\)|is [\\d.]+ MiB, over the 10 MiB limit for a configuration file|\\d+ more errors? not shown \\(is this the right file\\?\\)|parse failed: \\d+ errors?)$`,
  );
  for (const line of lines) {
    // A message names the value, cut short: a huge line must not make a huge log record.
    if (line.length > path.length + MAX_MESSAGE) problems.push(`a message of ${line.length} characters: ${JSON.stringify(line.slice(0, 300))}...`);
    const m = positioned.exec(line) ?? wholeFile.exec(line);
    if (!m) {
      problems.push(`no FILE:LINE: ${JSON.stringify(line.slice(0, 300))}`);
      continue;
    }
    const n = Number(m.groups === undefined ? m[1] : (m.groups.line ?? m.groups.utf ?? 1));
    if (!(n >= 1 && n <= lineCount)) problems.push(`line ${n} outside 1..${lineCount}: ${JSON.stringify(line.slice(0, 300))}`);
  }
  return problems;
}

// ---- processes, seen through /proc --------------------------------------------------------------

/** VmRSS in KiB and the number of open fds of a live process. */
export function footprint(pid: number): { rssKb: number; fds: number } {
  const rssKb = Number(readOr(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB$/m)?.[1] ?? NaN);
  let fds = NaN;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {}
  return { rssKb, fds };
}

/** Every live process (zombies included) as pid, state, session and argv. */
export function processTable(): Array<{ pid: number; state: string; session: number; argv: string[] }> {
  const out: Array<{ pid: number; state: string; session: number; argv: string[] }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const st = procStat(pid);
    if (st === null) continue;
    out.push({ pid, state: st.state, session: st.session, argv: readOr(`/proc/${pid}/cmdline`).split("\0").slice(0, -1) });
  }
  return out;
}

/** Processes left behind: any in the session of one of `sessions` (each job leads its own), or
 *  with an argv word containing `tag`. */
export function leftovers(sessions: Iterable<number>, tag: string): string[] {
  const sids = new Set(sessions);
  return processTable()
    .filter((p) => sids.has(p.session) || p.argv.some((a) => a.includes(tag)))
    .map((p) => `${p.pid} ${p.state} sid=${p.session} ${p.argv.join(" ").slice(0, 120)}`);
}

/** Children of `pid` that are zombies. */
export function zombieChildren(pid: number): number[] {
  return childrenOf(pid).filter((c) => procStat(c)?.state === "Z");
}

/** Pids of every `started job NAME [PID]` line of a log (any job). */
export function allStartedPids(log: string): number[] {
  return Array.from(log.matchAll(/: started job \S+ \[(\d+)\]$/gm), (m) => Number(m[1]));
}

/** Keeps a failed test's whole pmtr log (the failure message shows only its end); returns where. */
export function keepLog(name: string, log: string): string {
  mkdirSync(LOG_DIR, { recursive: true });
  const path = join(LOG_DIR, `${name}-${process.pid}-${Date.now()}.log`);
  writeFileSync(path, log);
  return path;
}

/** Appends the end of pmtr's log, and where the whole of it is kept, to a failure. */
export function explain(e: unknown, name: string, log: string): void {
  if (e instanceof Error) e.message += `\n--- pmtr log (last 3000 characters; all of it in ${keepLog(name, log)}) ---\n${log.slice(-3000)}`;
}
