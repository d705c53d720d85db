// Live reload, end to end (SPEC §6): every way an operator or a tool saves pmtr.conf is
// noticed and applied by dist/pmtr, SIGHUP forces a rescan, and a change of metadata alone
// restarts nothing. Each test runs two jobs: `a`, whose argument each save changes, and
// `keep`, which no save touches and which must keep its pid throughout.

import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import {
  FIXTURES, isAlive, join, jobRunning, type Pmtr, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig,
} from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
/** Unique to this run, so that the processes of our jobs are told apart from anyone else's. */
const TAG = `reload-save-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function newDir(): string {
  const dir = tempDir("pmtr-reload-save-");
  dirs.push(dir);
  return dir;
}

function job(name: string, word = "v1"): string {
  return `job {\n  name ${name}\n  cmd ${SLEEPER} ${marker(name)} ${word}\n}\n`;
}
const twoJobs = (word: string) => job("keep") + job("a", word);

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString()}`);
}

/** pmtr on `conf` (a path in `dir`), once both jobs run; `fn` gets their pids. */
function withTwoJobs(dir: string, conf: string, fn: (p: Pmtr, keep: number, a: number) => Promise<void>): Promise<void> {
  return withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
    const keep = await jobRunning(p, "keep", marker("keep"));
    const a = await jobRunning(p, "a", marker("a"), ["v1"]);
    await fn(p, keep, a);
  });
}

/** Job `a` was restarted with `word` (its old process gone); `keep` kept its one process. */
async function expectApplied(p: Pmtr, keep: number, oldA: number, word: string): Promise<number> {
  const a = await jobRunning(p, "a", marker("a"), [word]);
  expect(a).not.toBe(oldA);
  expect(isAlive(oldA)).toBe(false);
  expect(p.stderr).toContain("rescanning job configuration");
  expect(p.stderr).toContain("restarting job a: definition changed");
  expect(startedPids(p.stderr, "keep")).toEqual([keep]);
  expect(isAlive(keep)).toBe(true);
  return a;
}

describe("every way of saving the file is applied", () => {
  test("written in place", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      writeFileSync(conf, twoJobs("v2"));
      await expectApplied(p, keep, a, "v2");
    });
  }, 20_000);

  test("appended to (>>): the new job starts, the others keep their pids", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      appendFileSync(conf, job("b"));
      await jobRunning(p, "b", marker("b"));
      expect(p.stderr).toContain("rescanning job configuration");
      expect(startedPids(p.stderr, "keep")).toEqual([keep]);
      expect(startedPids(p.stderr, "a")).toEqual([a]);
      expect(isAlive(keep) && isAlive(a)).toBe(true);
    });
  }, 20_000);

  test("replaced by rename (a temporary file renamed over it, as Ansible and mv do)", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      writeConfig(dir, twoJobs("v2"), ".pmtr.conf.tmp");
      renameSync(join(dir, ".pmtr.conf.tmp"), conf);
      const a2 = await expectApplied(p, keep, a, "v2");
      // The watch survives the rename: the next save to the new file is seen too.
      writeConfig(dir, twoJobs("v3"), ".pmtr.conf.tmp");
      renameSync(join(dir, ".pmtr.conf.tmp"), conf);
      await expectApplied(p, keep, a2, "v3");
    });
  }, 20_000);

  test("edited by sed -i (new file renamed over it)", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      run(["sed", "-i", `s/${marker("a")} v1/${marker("a")} v2/`, conf]);
      await expectApplied(p, keep, a, "v2");
    });
  }, 20_000);

  test("renamed away to a backup, then written anew (vim's default)", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      renameSync(conf, `${conf}~`);
      writeFileSync(conf, twoJobs("v2"), { mode: 0o644 });
      unlinkSync(`${conf}~`);
      await expectApplied(p, keep, a, "v2");
    });
  }, 20_000);

  test("deleted and re-created", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      unlinkSync(conf);
      writeFileSync(conf, twoJobs("v2"), { mode: 0o644 });
      await expectApplied(p, keep, a, "v2");
    });
  }, 20_000);

  test("overwritten by cp", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      const next = writeConfig(dir, twoJobs("v2"), "next.conf");
      run(["cp", next, conf]);
      await expectApplied(p, keep, a, "v2");
    });
  }, 20_000);

  test("a symlinked file: link re-pointed (atomically, then by unlink + symlink), target edited", async () => {
    const dir = newDir();
    const elsewhere = newDir();
    writeConfig(dir, twoJobs("v1"), "one.conf");
    const conf = join(dir, "pmtr.conf");
    symlinkSync("one.conf", conf);
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      // As Kubernetes and config management do: a new link renamed over the old one.
      writeConfig(dir, twoJobs("v2"), "two.conf");
      symlinkSync("two.conf", join(dir, "link.tmp"));
      renameSync(join(dir, "link.tmp"), conf);
      const a2 = await expectApplied(p, keep, a, "v2");
      // The new target is the one watched now.
      writeFileSync(join(dir, "two.conf"), twoJobs("v3"));
      const a3 = await expectApplied(p, keep, a2, "v3");
      // `ln -sf` of old: unlink, then a new link, here to a file in another directory.
      const three = writeConfig(elsewhere, twoJobs("v4"), "three.conf");
      unlinkSync(conf);
      symlinkSync(three, conf);
      const a4 = await expectApplied(p, keep, a3, "v4");
      // ... whose directory is watched from then on.
      writeFileSync(three, twoJobs("v5"));
      await expectApplied(p, keep, a4, "v5");
    });
  }, 30_000);
});

describe("SIGHUP and metadata", () => {
  test("SIGHUP rescans without disturbing jobs; a save also signalled is applied once", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      const rescans = p.count(/rescanning job configuration/);
      process.kill(p.pid, "SIGHUP");
      await waitFor("a rescan after SIGHUP", () => p.count(/rescanning job configuration/) > rescans);
      await Bun.sleep(300); // settle: nothing else may follow
      expect(startedPids(p.stderr, "keep")).toEqual([keep]);
      expect(startedPids(p.stderr, "a")).toEqual([a]);
      expect(p.stderr).not.toContain("sending SIGTERM");

      // Seen by the watcher and rescanned by SIGHUP as well: one restart, not two.
      writeFileSync(conf, twoJobs("v2"));
      process.kill(p.pid, "SIGHUP");
      const a2 = await expectApplied(p, keep, a, "v2");
      await Bun.sleep(500); // settle: a second restart would show by now
      expect(startedPids(p.stderr, "a")).toEqual([a, a2]);
      expect(isAlive(a2)).toBe(true);
    });
  }, 20_000);

  test("touch and chmod with identical content restart nothing", async () => {
    const dir = newDir();
    const conf = writeConfig(dir, twoJobs("v1"));
    await withTwoJobs(dir, conf, async (p, keep, a) => {
      const logBefore = p.stderr.length;
      run(["touch", conf]);
      run(["chmod", "0600", conf]);
      run(["touch", "-d", "2001-01-01", conf]);
      await Bun.sleep(500); // settle: nothing may happen, so there is nothing to wait for
      const after = p.stderr.slice(logBefore);
      expect(after).not.toContain("started job");
      expect(after).not.toContain("sending SIGTERM");
      expect(after).not.toContain("stopping job");
      expect(after).not.toContain("restarting job");
      expect(isAlive(keep) && isAlive(a)).toBe(true);
      // Still watching: the next real change is applied.
      writeFileSync(conf, twoJobs("v2"));
      await expectApplied(p, keep, a, "v2");
    });
  }, 20_000);
});
