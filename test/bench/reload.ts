// Live reload of dist/pmtr (SPEC §6), saves made the way editors make them: the new file is
// written beside pmtr.conf and renamed over it. Each time runs from the rename returning to
// the new process existing, observed in /proc (children of pmtr and their argv), polled with a
// 0.2 ms nap.
//
//   add       a job added to the file is running: median of 30 saves (target <= 50 ms)
//   change    1000 jobs, one job's cmd changed: its new process is running (target <= 100 ms),
//             and exactly one job was touched (the other 999 pids unchanged)
//   include   the same 1000 jobs spread over 100 included files (SPEC §15), one job's cmd
//             changed by saving its file (target <= 100 ms, exactly one job touched)
//
// `bun run test/bench/reload.ts [add] [change] [include]` runs some; none = all. Prints numbers;
// docs/PERFORMANCE.md records them.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { benchDir, pmtrConfig, pmtrConfPath, removeDir, sleepJobs, startPmtr, type BenchJob, type Daemon } from "./lib/daemons.ts";
import { isAlive, pollUntil } from "./lib/proc.ts";
import { figure, load, machine, summary } from "./lib/report.ts";

const sections = new Set(process.argv.slice(2));
const wanted = (name: string) => sections.size === 0 || sections.has(name);

const ADD_WARMUP = 3;
const ADD_SAVES = 30;
const CHANGE_JOBS = 1000;
const CHANGE_WARMUP = 2;
const CHANGE_SAVES = 15;
/** Pause between saves, so each save is measured alone rather than coalesced with the last. */
const BETWEEN_SAVES_MS = 150;

/** Save as an editor does: write a new file, rename it over the old. Returns the time the
 *  rename returned: the save is complete from then on. */
function save(d: Daemon, jobs: readonly BenchJob[]): number {
  const conf = pmtrConfPath(d.dir);
  const tmp = join(dirname(conf), ".pmtr.conf.new");
  writeFileSync(tmp, pmtrConfig(jobs), { mode: 0o644 });
  renameSync(tmp, conf);
  return performance.now();
}

async function withPmtr(jobs: readonly BenchJob[], body: (d: Daemon) => Promise<void>): Promise<void> {
  const dir = benchDir("reload");
  const d = startPmtr(dir, jobs);
  try {
    await body(d);
    await d.shutdown();
  } catch (e) {
    console.log(`--- pmtr log (last 20 lines) ---\n${d.log().split("\n").slice(-21).join("\n")}`);
    throw e;
  } finally {
    await d.cleanup();
    removeDir(dir);
  }
}

async function addJob(): Promise<void> {
  const jobs: BenchJob[] = sleepJobs(1);
  await withPmtr(jobs, async (d) => {
    d.jobs.waitRunning(1, 10_000);
    await Bun.sleep(500);
    const times: number[] = [];
    for (let i = 0; i < ADD_WARMUP + ADD_SAVES; i++) {
      const added = { name: `added-${i}`, key: String(2_000_000 + i) };
      jobs.push(added);
      const t0 = save(d, jobs);
      pollUntil(`added job ${added.name} to run`, () => d.jobs.scan().has(added.key), 10_000);
      if (i >= ADD_WARMUP) times.push(performance.now() - t0);
      await Bun.sleep(BETWEEN_SAVES_MS);
    }
    figure(`save -> added job running (${ADD_SAVES} saves)`, summary(times));
    const touched = d.log().split("\n").filter((l) => /restarting job|stopping job/.test(l)).length;
    if (touched > 0) console.log(`  note: pmtr logged ${touched} restarts or stops of existing jobs`);
  });
}

async function changeOne(): Promise<void> {
  const jobs: BenchJob[] = sleepJobs(CHANGE_JOBS);
  await withPmtr(jobs, async (d) => {
    let before = d.jobs.waitRunning(CHANGE_JOBS, 30_000);
    await Bun.sleep(1000);
    const times: number[] = [];
    const violations: string[] = [];
    for (let i = 0; i < CHANGE_WARMUP + CHANGE_SAVES; i++) {
      const index = (i * 397 + 11) % CHANGE_JOBS;
      const old = jobs[index]!;
      const changed = { name: old.name, key: String(3_000_000 + i) };
      jobs[index] = changed;
      const oldPid = before.get(old.key)!;
      const t0 = save(d, jobs);
      pollUntil(`changed job ${changed.name} to run its new cmd`, () => d.jobs.scan().has(changed.key), 10_000);
      if (i >= CHANGE_WARMUP) times.push(performance.now() - t0);

      // Exactly one job touched: once things settle, every other job keeps its pid.
      await Bun.sleep(BETWEEN_SAVES_MS);
      const after = d.jobs.scan();
      if (isAlive(oldPid)) violations.push(`save ${i}: old process of ${old.name} [${oldPid}] still alive`);
      for (const [key, pid] of before) {
        if (key === old.key) continue;
        if (after.get(key) !== pid) violations.push(`save ${i}: job with key ${key} was [${pid}], now [${after.get(key) ?? "none"}]`);
      }
      if (after.size !== CHANGE_JOBS) violations.push(`save ${i}: ${after.size} jobs running, expected ${CHANGE_JOBS}`);
      before = after;
    }
    const saves = CHANGE_WARMUP + CHANGE_SAVES;
    const restartLines = d.log().split("\n").filter((l) => l.includes("restarting job") && l.includes("definition changed")).length;
    figure(`${CHANGE_JOBS} jobs, one changed: save -> its new process running`, summary(times));
    figure(`jobs touched per save`, violations.length === 0 && restartLines === saves
      ? `exactly 1 in each of ${saves} saves (other ${CHANGE_JOBS - 1} pids unchanged; ${restartLines} "definition changed" lines)`
      : `NOT exactly one: ${restartLines} "definition changed" lines for ${saves} saves; ${violations.slice(0, 5).join("; ")}`);
  });
}

const INCLUDE_FILES = 100;

/** The jobs of drop-in `f` (jobs f*10 .. f*10+9) as a file of job blocks. */
function dropIn(d: Daemon, jobs: readonly BenchJob[], f: number): number {
  const perFile = CHANGE_JOBS / INCLUDE_FILES;
  const path = join(dirname(pmtrConfPath(d.dir)), "pmtr.d", `${String(f).padStart(3, "0")}.conf`);
  const tmp = `${dirname(path)}/.new.tmp`;
  writeFileSync(tmp, pmtrConfig(jobs.slice(f * perFile, (f + 1) * perFile)), { mode: 0o644 });
  renameSync(tmp, path);
  return performance.now();
}

async function changeOneIncluded(): Promise<void> {
  const jobs: BenchJob[] = sleepJobs(CHANGE_JOBS);
  const dir = benchDir("reload-include");
  const dropIns = join(dirname(pmtrConfPath(dir)), "pmtr.d");
  mkdirSync(dropIns, { recursive: true });
  const perFile = CHANGE_JOBS / INCLUDE_FILES;
  for (let f = 0; f < INCLUDE_FILES; f++) {
    writeFileSync(join(dropIns, `${String(f).padStart(3, "0")}.conf`), pmtrConfig(jobs.slice(f * perFile, (f + 1) * perFile)), { mode: 0o644 });
  }
  const d = startPmtr(dir, [], [], [`include ${dropIns}/*.conf`]);
  try {
    let before = d.jobs.waitRunning(CHANGE_JOBS, 30_000);
    await Bun.sleep(1000);
    const times: number[] = [];
    const violations: string[] = [];
    for (let i = 0; i < CHANGE_WARMUP + CHANGE_SAVES; i++) {
      const index = (i * 397 + 11) % CHANGE_JOBS;
      const old = jobs[index]!;
      const changed = { name: old.name, key: String(4_000_000 + i) };
      jobs[index] = changed;
      const oldPid = before.get(old.key)!;
      const t0 = dropIn(d, jobs, Math.floor(index / perFile));
      pollUntil(`changed job ${changed.name} to run its new cmd`, () => d.jobs.scan().has(changed.key), 10_000);
      if (i >= CHANGE_WARMUP) times.push(performance.now() - t0);
      await Bun.sleep(BETWEEN_SAVES_MS);
      const after = d.jobs.scan();
      if (isAlive(oldPid)) violations.push(`save ${i}: old process of ${old.name} [${oldPid}] still alive`);
      for (const [key, pid] of before) {
        if (key === old.key) continue;
        if (after.get(key) !== pid) violations.push(`save ${i}: job with key ${key} was [${pid}], now [${after.get(key) ?? "none"}]`);
      }
      before = after;
    }
    const saves = CHANGE_WARMUP + CHANGE_SAVES;
    const restartLines = d.log().split("\n").filter((l) => l.includes("restarting job") && l.includes("definition changed")).length;
    figure(`${CHANGE_JOBS} jobs in ${INCLUDE_FILES} included files, one changed: save of its file -> its new process running`, summary(times));
    figure(`jobs touched per save`, violations.length === 0 && restartLines === saves
      ? `exactly 1 in each of ${saves} saves (other ${CHANGE_JOBS - 1} pids unchanged)`
      : `NOT exactly one: ${restartLines} "definition changed" lines for ${saves} saves; ${violations.slice(0, 5).join("; ")}`);
    await d.shutdown();
  } catch (e) {
    console.log(`--- pmtr log (last 20 lines) ---\n${d.log().split("\n").slice(-21).join("\n")}`);
    throw e;
  } finally {
    await d.cleanup();
    removeDir(dir);
  }
}

console.log(`machine: ${machine()}`);
if (wanted("add")) await addJob();
if (wanted("change")) await changeOne();
if (wanted("include")) await changeOneIncluded();
console.log(`done; ${load()}`);
