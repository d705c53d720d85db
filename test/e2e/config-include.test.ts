// `include` end to end (SPEC §15, issue 16): package-style drop-ins in a directory added,
// edited and removed while pmtr runs, each applied at once and touching only its own job; a
// broken drop-in changes nothing (every error named by file and line, then the parse-failed
// summary) and its fix is applied; a drop-in dir created after start is noticed.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { FIXTURES, isAlive, join, jobRunning, pidsWithArg, type Pmtr, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const TAG = `include-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const job = (name: string, word = "v1", ...extra: string[]): string =>
  [`job {`, `  name ${name}`, `  cmd ${SLEEPER} ${marker(name)} ${word}`, ...extra.map((l) => `  ${l}`), `}`, ""].join("\n");

/** As an editor or a package manager saves: write aside, rename over. */
function save(path: string, content: string): void {
  const tmp = join(dirname(path), `.${Date.now()}.tmp`);
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, path);
}

function withDropIns(files: Record<string, string>, fn: (p: Pmtr, d: string, conf: string) => Promise<void>, mainJobs = job("main")): Promise<void> {
  const dir = tempDir("pmtr-include-e2e-");
  dirs.push(dir);
  const d = join(dir, "pmtr.d");
  mkdirSync(d);
  for (const [name, text] of Object.entries(files)) writeConfig(d, text, name);
  const conf = writeConfig(dir, `include ${d}/*.conf\n${mainJobs}`);
  return withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, (p) => fn(p, d, conf));
}

describe("include: drop-ins applied live", () => {
  test("a drop-in added, edited and removed: each save touches only its own job", async () => {
    await withDropIns({ "a.conf": job("a") }, async (p, d) => {
      const main = await jobRunning(p, "main", marker("main"));
      const a = await jobRunning(p, "a", marker("a"));

      save(join(d, "b.conf"), job("b"));
      const b = await jobRunning(p, "b", marker("b"));

      save(join(d, "b.conf"), job("b", "v2"));
      const b2 = await jobRunning(p, "b", marker("b"), ["v2"]);
      expect(b2).not.toBe(b);

      unlinkSync(join(d, "b.conf"));
      await waitFor("b stopped", () => pidsWithArg(marker("b")).length === 0 && !isAlive(b2), 15_000);

      // main and a were never touched.
      expect(startedPids(p.stderr, "main")).toEqual([main]);
      expect(startedPids(p.stderr, "a")).toEqual([a]);
      expect(isAlive(main) && isAlive(a)).toBe(true);
    });
  });

  test("a file that does not match the pattern, or is hidden, is ignored", async () => {
    await withDropIns({}, async (p, d) => {
      await jobRunning(p, "main", marker("main"));
      save(join(d, "x.conf.disabled"), job("x"));
      writeFileSync(join(d, ".y.conf"), job("y"));
      save(join(d, "z.conf"), job("z"));
      await jobRunning(p, "z", marker("z"));
      expect(pidsWithArg(marker("x"))).toEqual([]);
      expect(pidsWithArg(marker("y"))).toEqual([]);
    });
  });

  test("a broken drop-in changes nothing, names its file and line, ends with the summary; its fix applies", async () => {
    await withDropIns({ "a.conf": job("a") }, async (p, d, conf) => {
      const main = await jobRunning(p, "main", marker("main"));
      const a = await jobRunning(p, "a", marker("a"));
      const from = p.stderr.length;
      // A broken new drop-in, and an edit of a.conf that would restart a: neither may apply.
      save(join(d, "b.conf"), `${job("b")}job {\n  name c\n  nice 99\n}\n`);
      await p.waitLog("keeping the previous configuration");
      const log = p.stderr.slice(from);
      expect(log).toContain(`${join(d, "b.conf")}:5: job "c" has no cmd (add: cmd /path/to/program ARGS)`);
      expect(log).toContain(`${join(d, "b.conf")}:7: nice 99 is out of range -20..19`);
      expect(log).toMatch(new RegExp(`: ${conf.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: parse failed: 2 errors\\n[^\\n]*keeping the previous configuration`));
      expect(pidsWithArg(marker("b"))).toEqual([]);

      save(join(d, "b.conf"), job("b"));
      await jobRunning(p, "b", marker("b"));
      expect(startedPids(p.stderr, "main")).toEqual([main]);
      expect(startedPids(p.stderr, "a")).toEqual([a]);
    });
  });

  test("a duplicate name across drop-ins is refused naming both files", async () => {
    await withDropIns({ "a.conf": job("a") }, async (p, d) => {
      const a = await jobRunning(p, "a", marker("a"));
      save(join(d, "b.conf"), job("a", "v2"));
      await p.waitLog(`${join(d, "b.conf")}:2: duplicate job name "a" (first used in ${join(d, "a.conf")}:2)`);
      expect(startedPids(p.stderr, "a")).toEqual([a]);
    });
  });

  test("an include directory that appears after start is watched; a new include line too", async () => {
    const dir = tempDir("pmtr-include-e2e-");
    dirs.push(dir);
    const d = join(dir, "later.d");
    const conf = writeConfig(dir, `include ${d}/*.conf\n${job("main")}`);
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      await jobRunning(p, "main", marker("main"));
      mkdirSync(d);
      save(join(d, "a.conf"), job("a"));
      await jobRunning(p, "a", marker("a"));

      const e = join(dir, "extra.d");
      mkdirSync(e);
      save(conf, `include ${d}/*.conf\ninclude ${e}/*.conf\n${job("main")}`);
      save(join(e, "b.conf"), job("b"));
      await jobRunning(p, "b", marker("b"));
    });
  });
});
