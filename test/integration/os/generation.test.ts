// The job record for crash recovery (src/os/self/generation.ts) with real files and real processes:
// one JSON object whose entries sit in slots of one width, so that a start or an exit rewrites
// one slot in place (issue 10: a restart must not rewrite the list of every job), the file
// laid out again only when it must grow or may shrink; read back by the next pmtr, which stops
// what is recorded as running and leaves what has been recorded as ended alone.

import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createRecorder, parseRecord, processStart, stopPreviousGeneration } from "../../../src/os/self/generation.ts";
import { isAlive, tempDir, waitFor } from "../../helpers.ts";

const dirs: string[] = [];
const started: Subprocess[] = [];
afterAll(() => {
  for (const p of started) p.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const d = tempDir("pmtr-generation-");
  dirs.push(d);
  return d;
}

/** A process leading its own session and group, as a job does (setsid execs in place: a Bun
 *  child does not lead its group). Resolves once it runs sleep. */
async function sessionLeader(): Promise<number> {
  const p = Bun.spawn(["setsid", "/bin/sleep", "600"], { stdio: ["ignore", "ignore", "ignore"] });
  started.push(p);
  await waitFor("setsid to exec sleep", () => readFileSync(`/proc/${p.pid}/cmdline`, "utf8").startsWith("/bin/sleep"));
  return p.pid;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const warnings: string[] = [];
const log = (_level: string, message: string) => void warnings.push(message);
/** The running jobs the record names, as "name:pid", sorted; the file must parse as JSON. */
const named = (path: string) => parseRecord(readFileSync(path, "utf8")).jobs.map((j) => `${j.name}:${j.pid}`).sort();

test("a start or an exit rewrites one slot in place; the record is one JSON object naming exactly the running jobs", async () => {
  const path = join(freshDir(), "pmtr.jobs");
  const [a, b, c] = [await sessionLeader(), await sessionLeader(), await sessionLeader()];
  const rec = createRecorder(path, log);
  expect(existsSync(path)).toBe(false); // nothing before the first start
  rec.started("a", a);
  const { ino, size } = statSync(path);
  const whole = JSON.parse(readFileSync(path, "utf8"));
  expect(whole.pmtr).toBe(process.pid);
  expect(whole.jobs).toContainEqual({ name: "a", pid: a, start: processStart(a) });
  rec.started("b", b);
  rec.started("c", c);
  expect(named(path)).toEqual([`a:${a}`, `b:${b}`, `c:${c}`]);
  rec.ended(a);
  expect(named(path)).toContain(`a:${a}`); // exits are written a turn later
  await nextTurn();
  expect(named(path)).toEqual([`b:${b}`, `c:${c}`]);
  rec.started("a", a); // the freed slot is used again
  expect(named(path)).toEqual([`a:${a}`, `b:${b}`, `c:${c}`]);
  // All of it in place: the same file, the same size.
  expect(statSync(path).ino).toBe(ino);
  expect(statSync(path).size).toBe(size);
  // Deleted under pmtr (an age-based cleaner, an operator): the next start writes it anew.
  rmSync(path);
  rec.ended(c);
  await nextTurn();
  expect(named(path)).toEqual([`a:${a}`, `b:${b}`]);
  rec.started("c", c);
  expect(named(path)).toEqual([`a:${a}`, `b:${b}`, `c:${c}`]);
  rec.stopping();
  rec.ended(b); // during shutdown exits are not written: the record is removed at the end
  await nextTurn();
  expect(named(path)).toContain(`b:${b}`);
  rec.remove();
  expect(existsSync(path)).toBe(false);
  rec.started("a", a); // after remove(): nothing is written, the file is not made again
  expect(existsSync(path)).toBe(false);
  expect(warnings).toEqual([]);
});

test("the record grows when its slots are all taken and shrinks when few are used; a long name widens the slots", async () => {
  const path = join(freshDir(), "pmtr.jobs");
  const pids: number[] = [];
  for (let i = 0; i < 70; i++) {
    const p = Bun.spawn(["/bin/sleep", "600"], { stdio: ["ignore", "ignore", "ignore"] });
    started.push(p);
    pids.push(p.pid);
  }
  await waitFor("70 sleeps", () => pids.every((pid) => processStart(pid) !== null));
  const rec = createRecorder(path, log);
  pids.forEach((pid, i) => rec.started(`job-${i}`, pid));
  expect(named(path)).toEqual(pids.map((pid, i) => `job-${i}:${pid}`).sort());
  const grown = statSync(path).size; // 128 slots: the first 64 were all taken
  for (const pid of pids.slice(0, 40)) rec.ended(pid);
  await nextTurn();
  expect(named(path)).toEqual(pids.slice(40).map((pid, i) => `job-${i + 40}:${pid}`).sort());
  expect(statSync(path).size).toBeLessThan(grown * 0.6); // 30 of 128 used: back to 64 slots
  const long = "x".repeat(300);
  rec.started(long, pids[0]!);
  expect(named(path)).toContain(`${long}:${pids[0]}`);
  rec.started("j\u00e9b", pids[1]!); // not ASCII: escaped, so the slots keep their width in bytes
  expect(named(path)).toContain(`j\u00e9b:${pids[1]}`);
  expect(named(path)).toHaveLength(32);
  expect(warnings).toEqual([]);
  rec.remove();
});

test("a record with free slots is read; anything else is not a job record", () => {
  const text = `{"pmtr":42,"jobs":[\n${JSON.stringify({ name: "a", pid: 7, start: "100" })}   ,\n{}   ,\n{}]}\n`;
  expect(parseRecord(text)).toEqual({ pmtr: 42, jobs: [{ name: "a", pid: 7, start: "100" }] });
  expect(() => parseRecord(JSON.stringify({ jobs: [] }))).toThrow("not a job record");
  expect(() => parseRecord("garbage\n")).toThrow();
});

test("the next pmtr stops what the record names as running, and only that", async () => {
  const path = join(freshDir(), "pmtr.jobs");
  const [running, ended] = [await sessionLeader(), await sessionLeader()];
  const rec = createRecorder(path, log);
  rec.started("kept", running);
  rec.started("old", ended);
  rec.ended(ended);
  await nextTurn();
  // As if this pmtr had been killed: the record stays. (A record naming a pmtr that still runs
  // is left alone; this process's own is acted on, as a restarted pmtr with the same pid would.)
  const said: string[] = [];
  await stopPreviousGeneration(path, (_level, message) => said.push(message), 5_000);
  expect(said).toEqual([`stopping job kept [${running}], left running by a previous pmtr [${process.pid}] that did not exit cleanly`]);
  await waitFor("the recorded job to be gone", () => !isAlive(running));
  expect(isAlive(ended)).toBe(true); // recorded as ended: not ours to stop any more
  rec.remove();
});
