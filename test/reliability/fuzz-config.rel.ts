// Config fuzzing (issue 7): mutated and random configurations through the parser in-process
// (readConfigFile, as start-up and reloads call it, and parseConfig), then a sample of them
// through `dist/pmtr -t` as processes. Nothing may throw, hang, crash or print a stack trace;
// `-t` exits 0 or 1 and prints exactly what the parser said; every error line is
// `FILE:LINE: message` with a line inside the file (or a documented whole-file line).

import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { parseConfig } from "../../src/config/index.ts";
import type { Config } from "../../src/config/model.ts";
import { MAX_CONFIG_BYTES, readConfigFile } from "../../src/os/config/config-file.ts";
import { join, PMTR, rmSync, tempDir } from "../helpers.ts";
import { badErrorLines, fuzzCase, LONG, Rand, report, SEED } from "./lib.ts";

const CASES = LONG ? 100_000 : 10_000;
const SAMPLE = LONG ? 2_000 : 300;
const PROCESS_TIMEOUT_MS = 20_000;

const dir = tempDir("pmtr-rel-fuzz-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const enforceOwnership = process.getuid?.() === 0;

/** Problems with a configuration the parser accepted: the model's own promises. */
function badConfig(config: Config): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const job of config.jobs) {
    // Words in pmtr.conf are separated by space and tab only (a no-break space is part of a
    // name, as src/control/listen-parse.ts documents); control characters are errors.
    if (!/^[^ \t\r\n\x00-\x1f\x7f]+$/.test(job.name) || names.has(job.name)) problems.push(`bad or duplicate name ${JSON.stringify(job.name)}`);
    names.add(job.name);
    if (!job.argv[0]?.startsWith("/")) problems.push(`cmd not absolute: ${JSON.stringify(job.argv)}`);
    if (!job.dir.startsWith("/")) problems.push(`dir not absolute: ${job.dir}`);
    if (!(Number.isInteger(job.nice) && job.nice >= -20 && job.nice <= 19)) problems.push(`nice ${job.nice}`);
    if (!Number.isSafeInteger(job.order)) problems.push(`order ${job.order}`);
    if (job.bounceSec !== null && !(Number.isSafeInteger(job.bounceSec) && job.bounceSec > 0)) problems.push(`bounce ${job.bounceSec}`);
    if (job.cpu !== null && !job.cpu.every((c) => Number.isInteger(c) && c >= 0 && c <= 1023)) problems.push(`cpu ${job.cpu}`);
    if (!job.env.every((e) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(e))) problems.push(`env ${JSON.stringify(job.env)}`);
    if (!job.depends.every((d) => d.startsWith("/"))) problems.push(`depends ${JSON.stringify(job.depends)}`);
    if (!Object.isFrozen(job)) problems.push(`job ${job.name} not frozen`);
  }
  return problems;
}

/** UTF-8 text within the size limit, as readConfigFile would hand it to parseConfig; else null. */
function asText(bytes: Uint8Array): string | null {
  if (bytes.length > MAX_CONFIG_BYTES || bytes.includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

interface Sampled {
  index: number;
  recipe: string;
  path: string;
  bytes: Uint8Array;
  messages: string[] | null; // null: valid
}

const sampled: Sampled[] = [];
const failures: string[] = [];
const fail = (index: number, recipe: string, what: string) => {
  if (failures.length < 20) failures.push(`seed ${SEED} case ${index} (${recipe}): ${what}`);
};

/** Edge cases every run includes, whatever the seed. */
const FIXED: Array<{ recipe: string; bytes: Uint8Array }> = [
  { recipe: "empty file", bytes: new Uint8Array() },
  { recipe: "one newline", bytes: new Uint8Array([10]) },
  { recipe: "BOM only", bytes: new Uint8Array([0xef, 0xbb, 0xbf]) },
  { recipe: "NUL only", bytes: new Uint8Array([0]) },
  { recipe: "exactly 10 MiB of comment", bytes: new TextEncoder().encode(`#${"x".repeat(MAX_CONFIG_BYTES - 2)}\n`) },
  { recipe: "10 MiB + 1", bytes: new Uint8Array(MAX_CONFIG_BYTES + 1).fill(0x20) },
  { recipe: "one 9 MiB line", bytes: new TextEncoder().encode(`job {\n  name ${"n".repeat(9 << 20)}\n  cmd /bin/true\n}\n`) },
  { recipe: "200000 nested job {", bytes: new TextEncoder().encode("job {\n".repeat(200_000)) },
  { recipe: "200000 }", bytes: new TextEncoder().encode("}\n".repeat(200_000)) },
  { recipe: "100000 jobs", bytes: new TextEncoder().encode(Array.from({ length: 100_000 }, (_, i) => `job {\nname j${i}\ncmd /bin/true\n}\n`).join("")) },
];

test(`${CASES} mutated and random configurations through the parser in-process: no throw, every error positioned`, () => {
  const r = new Rand(SEED);
  const path = join(dir, "case.conf");
  const sampleEvery = Math.floor(CASES / SAMPLE);
  let valid = 0;
  let errorLines = 0;
  let maxMs = 0;
  let slowest = "";
  const started = performance.now();
  for (let index = 0; index < CASES + FIXED.length; index++) {
    const { bytes, recipe } = index < FIXED.length ? FIXED[index]! : fuzzCase(r);
    writeFileSync(path, bytes, { mode: 0o644 });
    const t0 = performance.now();
    let loaded: ReturnType<typeof readConfigFile>;
    try {
      loaded = readConfigFile(path, { enforceOwnership });
    } catch (e) {
      fail(index, recipe, `readConfigFile threw ${e instanceof Error ? e.stack : String(e)}`);
      continue;
    }
    const ms = performance.now() - t0;
    if (ms > maxMs) [maxMs, slowest] = [ms, `${recipe} (${bytes.length} bytes)`];

    if (loaded.ok) {
      valid++;
      for (const p of badConfig(loaded.config)) fail(index, recipe, p);
    } else {
      errorLines += loaded.messages.length;
      if (loaded.messages.length === 0) fail(index, recipe, "rejected without a message");
      if (loaded.messages.length > 102) fail(index, recipe, `${loaded.messages.length} messages (more than 100 + "more" + the parse-failed summary)`);
      if (!/: parse failed: \d+ errors?$/.test(loaded.messages.at(-1) ?? "")) fail(index, recipe, `no parse-failed summary: ${JSON.stringify(loaded.messages.at(-1))}`);
      for (const p of badErrorLines(path, bytes, loaded.messages)) fail(index, recipe, p);
      // readConfigFile's last-resort guard turns a surprise into this line: it must never be needed.
      if (loaded.messages.some((m) => m.includes("cannot read the configuration file"))) fail(index, recipe, `guard caught: ${loaded.messages.join(" | ")}`);
    }
    // The same text straight into parseConfig must get the same verdict (big inputs skip this:
    // readConfigFile has just parsed them, and they cost most of the run's time).
    const text = bytes.length <= 65536 ? asText(bytes) : null;
    if (text !== null) {
      try {
        const parsed = parseConfig(text);
        if (parsed.ok !== loaded.ok) fail(index, recipe, `parseConfig says ok=${parsed.ok}, readConfigFile ok=${loaded.ok}`);
      } catch (e) {
        fail(index, recipe, `parseConfig threw ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
    if (index < FIXED.length || (index - FIXED.length) % sampleEvery === 0) {
      const own = join(dir, `t-${index}.conf`);
      sampled.push({ index, recipe, path: own, bytes, messages: loaded.ok ? null : loaded.messages.map((m) => m.replace(path, own)) });
    }
  }
  const total = CASES + FIXED.length;
  report("fuzz-parse", {
    seed: SEED, cases: total, valid, invalid: total - valid, errorLines,
    totalSec: ((performance.now() - started) / 1000).toFixed(1), slowestMs: maxMs.toFixed(0), slowest: JSON.stringify(slowest),
  });
  expect(failures).toEqual([]);
  // The mix is worth its name only if both verdicts are common.
  expect(valid).toBeGreaterThan(total / 20);
  expect(total - valid).toBeGreaterThan(total / 2);
}, LONG ? 1_800_000 : 120_000);

test("a sample of them through `dist/pmtr -t -c FILE`: exit 0 or 1, exactly the parser's messages, nothing else", async () => {
  expect(sampled.length).toBeGreaterThanOrEqual(Math.min(SAMPLE, 100));
  const codes: Record<string, number> = {};
  let maxMs = 0;
  const queue = [...sampled];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      writeFileSync(c.path, c.bytes, { mode: 0o644 });
      const t0 = performance.now();
      const proc = Bun.spawn([PMTR, "-t", "-c", c.path], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      let hung = false;
      const timer = setTimeout(() => {
        hung = true;
        proc.kill("SIGKILL");
      }, PROCESS_TIMEOUT_MS);
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      maxMs = Math.max(maxMs, performance.now() - t0);
      rmSync(c.path, { force: true });
      const key = hung ? "hung" : proc.signalCode ? String(proc.signalCode) : String(code);
      codes[key] = (codes[key] ?? 0) + 1;
      if (hung) fail(c.index, c.recipe, `pmtr -t still running after ${PROCESS_TIMEOUT_MS} ms`);
      else if (code !== (c.messages === null ? 0 : 1)) fail(c.index, c.recipe, `exit ${code} signal ${proc.signalCode}, expected ${c.messages === null ? 0 : 1}; stderr ${stderr.slice(0, 500)}`);
      if (stdout !== "") fail(c.index, c.recipe, `stdout ${JSON.stringify(stdout.slice(0, 300))}`);
      // A valid file may get run-time warnings (SPEC §15: its programs do not exist here).
      const lines = stderr.split("\n").filter(Boolean).filter((l) => c.messages !== null || !/^\S+:\d+: warning: job /.test(l));
      if (JSON.stringify(lines) !== JSON.stringify(c.messages ?? [])) {
        fail(c.index, c.recipe, `stderr is not the parser's messages: ${JSON.stringify(lines.slice(0, 5))} vs ${JSON.stringify((c.messages ?? []).slice(0, 5))}`);
      }
      for (const p of badErrorLines(c.path, c.bytes, lines)) fail(c.index, c.recipe, p);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  report("fuzz-pmtr-t", { seed: SEED, runs: sampled.length, exits: JSON.stringify(codes), slowestMs: maxMs.toFixed(0) });
  expect(failures).toEqual([]);
  expect(Object.keys(codes).sort()).toEqual(["0", "1"]);
}, LONG ? 600_000 : 120_000);
