// Live reload, end to end (SPEC §6): all or nothing. A saved file with errors is reported (every
// error as FILE:LINE: message, then one line saying the previous configuration is kept) and
// changes nothing at all; a deleted file changes nothing either. The next good file is applied.

import { afterEach, describe, expect, test } from "bun:test";
import { renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  FIXTURES, isAlive, join, jobRunning, pidsWithArg, type Pmtr, rmSync, startedPids, tempDir, waitFor, withPmtr,
  writeConfig,
} from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const TAG = `reload-errors-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function jobLines(name: string, word: string, ...extra: string[]): string[] {
  return [`job {`, `  name ${name}`, `  cmd ${SLEEPER} ${marker(name)} ${word}`, ...extra.map((l) => `  ${l}`), `}`];
}
const text = (lines: string[]) => `${lines.join("\n")}\n`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function save(conf: string, content: string): void {
  const tmp = writeConfig(dirname(conf), content, ".next.tmp");
  renameSync(tmp, conf);
}

/** pmtr running `keep` and `a` (v1) from a file in a fresh directory. */
function withKeepAndA(fn: (p: Pmtr, conf: string, keep: number, a: number) => Promise<void>): Promise<void> {
  const dir = tempDir("pmtr-reload-errors-");
  dirs.push(dir);
  const conf = writeConfig(dir, text([...jobLines("keep", "v1"), ...jobLines("a", "v1")]));
  return withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
    const keep = await jobRunning(p, "keep", marker("keep"));
    const a = await jobRunning(p, "a", marker("a"), ["v1"]);
    await fn(p, conf, keep, a);
  });
}

/** Nothing in the log since `from` stopped, restarted or started a job, and both run on. */
function expectUntouched(p: Pmtr, from: number, keep: number, a: number): void {
  const since = p.stderr.slice(from);
  for (const phrase of ["started job", "stopping job", "restarting job", "sending SIGTERM"]) expect(since).not.toContain(phrase);
  expect(isAlive(keep) && isAlive(a)).toBe(true);
  expect(pidsWithArg(marker("keep"))).toEqual([keep]);
  expect(pidsWithArg(marker("a"))).toEqual([a]);
}

describe("a file with errors changes nothing", () => {
  test("every error is logged with FILE:LINE, the previous configuration kept; the fixed file is applied", async () => {
    await withKeepAndA(async (p, conf, keep, a) => {
      // What the broken file would do if applied: stop keep, restart a, start c.
      const broken = [...jobLines("a", "v2", "bogus 1"), ...jobLines("c", "v1", "nice 99")];
      const bogusLine = broken.findIndex((l) => l.includes("bogus")) + 1;
      const niceLine = broken.findIndex((l) => l.includes("nice 99")) + 1;
      const from = p.stderr.length;
      save(conf, text(broken));
      await p.waitLog("keeping the previous configuration");
      await Bun.sleep(300); // settle: nothing may follow
      const log = p.stderr.slice(from);
      const lines = log.split("\n");
      const bogus = new RegExp(`^pmtr\\[\\d+\\]: ${escape(conf)}:${bogusLine}: unknown keyword "bogus"`);
      const nice = new RegExp(`^pmtr\\[\\d+\\]: ${escape(conf)}:${niceLine}: nice 99 is out of range -20\\.\\.19$`);
      const keeping = /^pmtr\[\d+\]: keeping the previous configuration$/;
      // Each error once, both before the one closing line.
      expect(lines.filter((l) => bogus.test(l))).toHaveLength(1);
      expect(lines.filter((l) => nice.test(l))).toHaveLength(1);
      expect(lines.filter((l) => keeping.test(l))).toHaveLength(1);
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      expect(at(bogus)).toBeLessThan(at(keeping));
      expect(at(nice)).toBeLessThan(at(keeping));
      expect(log).not.toContain("Error:"); // no stack trace
      expectUntouched(p, from, keep, a);
      expect(pidsWithArg(marker("c"))).toEqual([]);

      // The same file fixed: applied as a whole.
      save(conf, text([...jobLines("a", "v2"), ...jobLines("c", "v1", "nice 9")]));
      await jobRunning(p, "c", marker("c"));
      const a2 = await jobRunning(p, "a", marker("a"), ["v2"]);
      expect(a2).not.toBe(a);
      await waitFor("keep stopped", () => pidsWithArg(marker("keep")).length === 0);
      expect(p.stderr).toContain("stopping job keep: removed from the configuration");
    });
  }, 20_000);
});

describe("a deleted file changes nothing", () => {
  test("logged once, jobs run on; the re-created file is applied", async () => {
    await withKeepAndA(async (p, conf, keep, a) => {
      const missing = `configuration file ${conf} is missing, keeping the previous configuration`;
      const from = p.stderr.length;
      unlinkSync(conf);
      await p.waitLog(missing);
      // Other activity in the directory while the file is gone: still one line, no change.
      const dir = dirname(conf);
      writeFileSync(join(dir, ".pmtr.conf.swp"), "x");
      writeFileSync(join(dir, "notes"), "x");
      unlinkSync(join(dir, ".pmtr.conf.swp"));
      await Bun.sleep(300); // settle: nothing may follow
      expect(p.count(new RegExp(escape(missing)))).toBe(1);
      expectUntouched(p, from, keep, a);

      // Back, with one job more: applied, the others untouched.
      writeConfig(dir, text([...jobLines("keep", "v1"), ...jobLines("a", "v1"), ...jobLines("c", "v1")]));
      await jobRunning(p, "c", marker("c"));
      expect(startedPids(p.stderr, "keep")).toEqual([keep]);
      expect(startedPids(p.stderr, "a")).toEqual([a]);
      expect(isAlive(keep) && isAlive(a)).toBe(true);
    });
  }, 20_000);
});
