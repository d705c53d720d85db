// dist/pmtr reads captured output with its own thread (src/os/log/reader.c, issue 14): the
// thread `pmtr-output` exists while a job's output goes through pmtr and is gone once none
// does; a job with only direct files never starts it; and pmtr never fell back to Bun's
// stream (it would say "cannot start the output reader thread").

import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join, readOr, rmSync, runPmtr, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

/** Names of pmtr's threads now. */
function threadNames(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map((t) => readOr(`/proc/${pid}/task/${t}/comm`).trim());
  } catch {
    return [];
  }
}

test("the output reader thread runs while a rotated or console job runs, and only then", async () => {
  const dir = tempDir("pmtr-logs-reader-");
  const sock = join(dir, "s");
  const direct = `job {\n  name direct\n  cmd /bin/sleep 600\n  dir ${dir}\n  out direct.log\n}\n`;
  const rotated = `job {\n  name rotated\n  cmd /bin/sh -c "seq 1 5000; exec sleep 600"\n  dir ${dir}\n  out rotated.log\n  rotate 1M\n}\n`;
  const shown = `job {\n  name shown\n  cmd /bin/sh -c "echo hello; exec sleep 600"\n  out console\n}\n`;
  const conf = writeConfig(dir, direct);
  const pmtrCtl = async (...args: string[]) => {
    const r = await runPmtr([...args, "-s", sock], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
  };
  try {
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(/started job direct \[\d+\]/, 20_000);
      // Only a direct file: no thread (checked once more after the loop has turned).
      await runPmtr(["status", "-s", sock], { timeoutMs: 20_000 });
      expect(threadNames(p.pid)).not.toContain("pmtr-output");

      writeConfig(dir, direct + rotated);
      process.kill(p.pid, "SIGHUP");
      await p.waitLog(/started job rotated \[\d+\]/, 20_000);
      await waitFor("the reader thread", () => threadNames(p.pid).includes("pmtr-output"), 20_000);
      const want = Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join("");
      await waitFor("every line in rotated.log", () => readOr(join(dir, "rotated.log")) === want, 20_000);

      writeConfig(dir, direct + rotated + shown);
      process.kill(p.pid, "SIGHUP");
      await waitFor("shown's line on pmtr's stdout", () => p.stdout.includes("shown | hello\n"), 20_000);
      expect(threadNames(p.pid).filter((n) => n === "pmtr-output")).toEqual(["pmtr-output"]); // one for all

      await pmtrCtl("stop", "rotated", "shown");
      await waitFor("no reader thread once no output goes through pmtr", () => !threadNames(p.pid).includes("pmtr-output"), 20_000);
      expect(p.stderr).not.toContain("output reader thread");
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);

test("PMTR_OUTPUT_READER=stream: no thread, one warning, and every line still arrives in order (the fallback)", async () => {
  const dir = tempDir("pmtr-logs-reader-");
  const sock = join(dir, "s");
  const conf = writeConfig(dir, `job {\n  name rotated\n  cmd /bin/sh -c "seq 1 20000; exec sleep 600"\n  dir ${dir}\n  out rotated.log\n  rotate 64K keep 9\n}\njob {\n  name shown\n  cmd /bin/sh -c "seq 1 3; exec sleep 600"\n  out console\n}\n`);
  try {
    await withPmtr(["-F", "-c", conf, "-s", sock], { env: { PMTR_OUTPUT_READER: "stream" } }, async (p) => {
      await waitFor("shown's lines on pmtr's stdout", () => p.stdout.includes("shown | 1\nshown | 2\nshown | 3\n"), 20_000);
      // rotated.log.9 .. rotated.log.1, rotated.log: oldest first, so the concatenation is 1..20000
      // (108,894 bytes over 64 KiB files: two or three of them, none dropped).
      const want = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join("");
      const all = () => [...Array.from({ length: 9 }, (_, i) => `rotated.log.${9 - i}`), "rotated.log"].map((f) => readOr(join(dir, f))).join("");
      await waitFor("every line of rotated, in order, across its files", () => all() === want, 20_000);
      expect(threadNames(p.pid)).not.toContain("pmtr-output");
      expect(p.count(/cannot start the output reader thread: switched off by PMTR_OUTPUT_READER=stream; reading captured output with Bun's stream instead/)).toBe(1);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
