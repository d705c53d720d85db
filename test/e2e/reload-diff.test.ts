// Live reload, end to end (SPEC §6): a save changes exactly what differs between the old and
// the new file. New jobs start, removed and newly disabled ones stop, a job changed in any
// field restarts at once with its new definition (seen in /proc), every other job keeps its
// pid; a job waiting out its 10 s restart delay, or done (`once`, exit 33), runs again at once
// when its definition changes.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readlinkSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import {
  cmdlineOf, FIXTURES, fileLines, isAlive, join, jobRunning, pidsWithArg, type Pmtr, procStat, readOr, rmSync,
  startedPids, tempDir, waitFor, withPmtr, writeConfig,
} from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const RECORD = join(FIXTURES, "reload/record.sh");
const SLOW_STOP = join(FIXTURES, "reload/slow-stop.sh");
const TAG = `reload-diff-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function newDir(): string {
  const dir = tempDir("pmtr-reload-diff-");
  dirs.push(dir);
  return dir;
}

function sleeper(name: string, word: string, ...lines: string[]): string {
  return [`job {`, `  name ${name}`, `  cmd ${SLEEPER} ${marker(name)} ${word}`, ...lines.map((l) => `  ${l}`), `}`, ``].join("\n");
}
function recorder(name: string, file: string, word: string, ...lines: string[]): string {
  return [`job {`, `  name ${name}`, `  cmd ${RECORD} ${file} ${word}`, ...lines.map((l) => `  ${l}`), `}`, ``].join("\n");
}

/** Saves `text` as `conf` by rename, so that pmtr can only ever read the whole new file. */
function save(conf: string, text: string): void {
  const tmp = writeConfig(dirname(conf), text, ".next.tmp");
  renameSync(tmp, conf);
}

/** The pid of job NAME's new run: not `old`, alive, the one process with its marker. */
function restarted(p: Pmtr, name: string, old: number): Promise<number> {
  return waitFor(`job ${name} restarted (old pid ${old})`, () => {
    const pid = startedPids(p.stderr, name).at(-1);
    const procs = pidsWithArg(marker(name));
    return pid !== undefined && pid !== old && procs.length === 1 && procs[0] === pid ? pid : 0;
  });
}

/** Waits until no process of job NAME is left. */
function gone(name: string): Promise<boolean> {
  return waitFor(`no process of job ${name} left`, () => pidsWithArg(marker(name)).length === 0);
}

function environOf(pid: number): string[] {
  return readOr(`/proc/${pid}/environ`).split("\0");
}
function softLimit(pid: number, label: string): string | undefined {
  return readOr(`/proc/${pid}/limits`).split("\n").find((l) => l.startsWith(label))?.slice(26).trim().split(/\s+/)[0];
}

describe("a save applies exactly the difference", () => {
  test("new, removed, disabled, re-enabled, changed in each field, unchanged", async () => {
    const dir = newDir();
    mkdirSync(join(dir, "d1"));
    mkdirSync(join(dir, "d2"));
    const before = [
      sleeper("keep", "v1", "env COLOR=red", "nice 3", `out ${dir}/keep.out`),
      sleeper("gone", "v1"),
      sleeper("todisable", "v1"),
      sleeper("wasoff", "v1", "disable"),
      sleeper("arg", "v1"),
      sleeper("env", "v1", "env COLOR=red"),
      sleeper("nice", "v1"),
      sleeper("dir", "v1", `dir ${dir}/d1`),
      sleeper("limit", "v1", "ulimit -n 1000"),
      sleeper("out", "v1", `out ${dir}/one.out`),
      sleeper("bounce", "v1", "bounce every 1h"),
    ];
    const after = [
      sleeper("keep", "v1", "env COLOR=red", "nice 3", `out ${dir}/keep.out`),
      sleeper("todisable", "v1", "disable"),
      sleeper("wasoff", "v1"),
      sleeper("arg", "v2"),
      sleeper("env", "v1", "env COLOR=blue"),
      sleeper("nice", "v1", "nice 5"),
      sleeper("dir", "v1", `dir ${dir}/d2`),
      sleeper("limit", "v1", "ulimit -n 2000"),
      sleeper("out", "v1", `out ${dir}/two.out`),
      sleeper("bounce", "v1", "bounce every 2h"),
      sleeper("fresh", "v1"),
    ];
    const changed = ["arg", "env", "nice", "dir", "limit", "out", "bounce"];
    const conf = writeConfig(dir, before.join(""));
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      const old: Record<string, number> = {};
      for (const name of ["keep", "gone", "todisable", ...changed]) old[name] = await jobRunning(p, name, marker(name));
      expect(pidsWithArg(marker("wasoff"))).toEqual([]);

      save(conf, after.join(""));
      await p.waitLog("rescanning job configuration");
      // Changed jobs come back at once: a 10 s anti-spin delay would miss these deadlines.
      const now: Record<string, number> = {};
      for (const name of changed) now[name] = await restarted(p, name, old[name]!);
      await jobRunning(p, "fresh", marker("fresh"));
      await jobRunning(p, "wasoff", marker("wasoff"));
      await gone("gone");
      await gone("todisable");

      expect(p.stderr).toContain("stopping job gone: removed from the configuration");
      expect(p.stderr).toContain("stopping job todisable: disabled");
      for (const name of changed) expect(p.stderr).toContain(`restarting job ${name}: definition changed`);
      expect(p.stderr).not.toContain("restarting too fast");

      // Each new run has its new definition.
      expect(cmdlineOf(now.arg!)).toContain("v2");
      expect(environOf(now.env!)).toContain("COLOR=blue");
      expect(procStat(now.nice!)?.nice).toBe(5);
      expect(readlinkSync(`/proc/${now.dir}/cwd`)).toBe(join(dir, "d2"));
      expect(softLimit(now.limit!, "Max open files")).toBe("2000");
      expect(readlinkSync(`/proc/${now.out}/fd/1`)).toBe(join(dir, "two.out"));

      await Bun.sleep(300); // settle: nothing more may happen
      // The unchanged job: one run, the same process, all along.
      expect(startedPids(p.stderr, "keep")).toEqual([old.keep!]);
      expect(isAlive(old.keep!)).toBe(true);
      expect(p.stderr).not.toMatch(/job keep \[\d+\] exited/);
      // Every changed job was restarted exactly once.
      for (const name of changed) expect(startedPids(p.stderr, name)).toEqual([old[name]!, now[name]!]);
      expect(startedPids(p.stderr, "fresh")).toHaveLength(1);
      expect(startedPids(p.stderr, "gone")).toHaveLength(1);
      expect(startedPids(p.stderr, "todisable")).toHaveLength(1);
    });
  }, 20_000);

  test("a job removed and put back while it is still stopping never runs twice at once", async () => {
    const dir = newDir();
    const slow = `job {\n  name slow\n  cmd ${SLOW_STOP} ${marker("slow")}\n}\n`;
    const conf = writeConfig(dir, slow + sleeper("keep", "v1"));
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      const first = await jobRunning(p, "slow", marker("slow"));
      save(conf, sleeper("keep", "v1"));
      await p.waitLog(`sending SIGTERM to job slow [${first}]`);
      // Back while the old run takes its 1 s to stop.
      save(conf, slow + sleeper("keep", "v1"));
      let most = 0;
      const second = await waitFor("job slow running again", () => {
        // Runs of the job are pmtr's children: a run's own fork of itself (`sleep 600 &`, before
        // its exec) carries the marker for a moment too, and is not a second run.
        const procs = pidsWithArg(marker("slow")).filter((pid) => procStat(pid)?.ppid === p.pid);
        most = Math.max(most, procs.length);
        const pid = startedPids(p.stderr, "slow").at(-1)!;
        return pid !== first && procs.length === 1 && procs[0] === pid ? pid : 0;
      });
      expect(most).toBe(1);
      // In pmtr's own account too, the old run ended before the new one began.
      const exited = p.stderr.indexOf(`job slow [${first}] exited`);
      expect(exited).toBeGreaterThan(-1);
      expect(exited).toBeLessThan(p.stderr.indexOf(`started job slow [${second}]`));
    });
  }, 20_000);
});

describe("a changed definition runs again at once", () => {
  test("a job edited during its 10 s restart delay starts at once", async () => {
    const dir = newDir();
    const runs = join(dir, "runs");
    const conf = writeConfig(dir, recorder("flap", runs, "first"));
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      await p.waitLog("job flap restarting too fast, delaying restart");
      expect(fileLines(runs)).toEqual(["first"]);
      save(conf, recorder("flap", runs, "second"));
      // The deadline is well inside the 10 s delay: waiting it out fails here.
      await waitFor("the edited job to run", () => fileLines(runs).includes("second") && startedPids(p.stderr, "flap").length === 2, 5000);
      expect(fileLines(runs)).toEqual(["first", "second"]);
    });
  }, 20_000);

  test("a `once` job and an exit-33 job run again when changed, and not when other jobs change", async () => {
    const dir = newDir();
    const onceRuns = join(dir, "once-runs");
    const stopRuns = join(dir, "stop-runs");
    const jobs = (word: string, extra = "") =>
      recorder("one", onceRuns, word, "once") + recorder("stop", stopRuns, `${word} 33`) + sleeper("keep", "v1") + extra;
    const conf = writeConfig(dir, jobs("a"));
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      const keep = await jobRunning(p, "keep", marker("keep"));
      await p.waitLog("job one ran once, will not be restarted");
      await p.waitLog("job stop exited with status 33, will not be restarted");

      // Another job added: the finished ones are unchanged, so they stay done.
      save(conf, jobs("a", sleeper("extra", "v1")));
      await jobRunning(p, "extra", marker("extra"));
      await Bun.sleep(300); // settle: a wrong re-run would show by now
      expect(fileLines(onceRuns)).toEqual(["a"]);
      expect(fileLines(stopRuns)).toEqual(["a"]);

      // Their definitions changed: each runs again, once.
      save(conf, jobs("b", sleeper("extra", "v1")));
      await waitFor("the changed once job to run", () => fileLines(onceRuns).includes("b"));
      await waitFor("the changed exit-33 job to run", () => fileLines(stopRuns).includes("b"));
      await waitFor("both done again", () => p.count(/job one ran once/) === 2 && p.count(/job stop exited with status 33/) === 2);
      await Bun.sleep(300);
      expect(fileLines(onceRuns)).toEqual(["a", "b"]);
      expect(fileLines(stopRuns)).toEqual(["a", "b"]);
      expect(startedPids(p.stderr, "keep")).toEqual([keep]);
      expect(isAlive(keep)).toBe(true);
    });
  }, 20_000);
});
