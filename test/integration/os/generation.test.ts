// The job record for crash recovery (src/os/generation.ts) with real files and real processes:
// a journal with one line per start and exit (issue 10: a restart must not rewrite the list of
// every job), rewritten whole once it is twice as long as needed, and read back by the next
// pmtr, which stops what is recorded as running and leaves what is recorded as ended alone.

import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createRecorder, parseRecord, processStart, stopPreviousGeneration } from "../../../src/os/generation.ts";
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
const lines = (path: string) => readFileSync(path, "utf8").trimEnd().split("\n");
const warnings: string[] = [];
const log = (_level: string, message: string) => void warnings.push(message);

test("each start and each exit is one appended line; the record names exactly the running jobs", async () => {
  const path = join(freshDir(), "pmtr.jobs");
  const [a, b, c] = [await sessionLeader(), await sessionLeader(), await sessionLeader()];
  const rec = createRecorder(path, log);
  expect(existsSync(path)).toBe(false); // nothing before the first start
  rec.started("a", a);
  rec.started("b", b);
  await Promise.resolve(); // written at the end of the step that started them
  expect(lines(path)).toEqual([JSON.stringify({ pmtr: process.pid }), JSON.stringify({ name: "a", pid: a, start: processStart(a) }), JSON.stringify({ name: "b", pid: b, start: processStart(b) })]);
  rec.started("c", c);
  rec.ended(a);
  await nextTurn();
  expect(lines(path)).toHaveLength(5);
  expect(lines(path).at(-1)).toBe(JSON.stringify({ ended: a }));
  expect(parseRecord(readFileSync(path, "utf8")).jobs.map((j) => j.name).sort()).toEqual(["b", "c"]);
  rec.remove();
  expect(existsSync(path)).toBe(false);
  rec.ended(b); // after remove(): nothing is written, the file is not made again
  rec.started("a", a);
  await nextTurn();
  expect(existsSync(path)).toBe(false);
  expect(warnings).toEqual([]);
});

test("a long run of restarts keeps the journal proportional to the running jobs", async () => {
  const path = join(freshDir(), "pmtr.jobs");
  const pids = [await sessionLeader(), await sessionLeader()];
  const rec = createRecorder(path, log);
  rec.started("a", pids[0]!);
  rec.started("b", pids[1]!);
  let longest = 0;
  // The same two pids exit and start again 500 times (a real restart gets a new pid; the
  // journal does not care, and a real pid is needed for its start time).
  for (let i = 0; i < 500; i++) {
    const pid = pids[i % 2]!;
    rec.ended(pid);
    await nextTurn();
    rec.started(i % 2 === 0 ? "a" : "b", pid);
    await nextTurn();
    longest = Math.max(longest, lines(path).length);
  }
  // At most twice the running jobs plus the slack (64) and the header, and the last rewrite is
  // visible: far fewer lines than the 1000 events.
  expect(longest).toBeLessThanOrEqual(2 * 2 + 64 + 1 + 1);
  expect(parseRecord(readFileSync(path, "utf8")).jobs.map((j) => `${j.name}:${j.pid}`).sort()).toEqual([`a:${pids[0]}`, `b:${pids[1]}`]);
  expect(warnings).toEqual([]);
});

test("a torn last line is skipped; the single-object record of earlier versions is still read", () => {
  const journal = [
    JSON.stringify({ pmtr: 42 }),
    JSON.stringify({ name: "a", pid: 7, start: "100" }),
    JSON.stringify({ name: "b", pid: 8, start: "101" }),
    JSON.stringify({ ended: 7 }),
    '{"name":"c","pid":9,"st',
  ].join("\n");
  expect(parseRecord(journal)).toEqual({ pmtr: 42, jobs: [{ name: "b", pid: 8, start: "101" }] });
  const old = JSON.stringify({ pmtr: 43, jobs: [{ name: "a", pid: 7, start: "100" }] });
  expect(parseRecord(old)).toEqual({ pmtr: 43, jobs: [{ name: "a", pid: 7, start: "100" }] });
  expect(() => parseRecord("garbage\n")).toThrow("not a job record");
});

test("the next pmtr stops what a dead pmtr's journal records as running, and only that", async () => {
  const path = join(freshDir(), "pmtr.jobs");
  const [running, ended] = [await sessionLeader(), await sessionLeader()];
  const gone = Bun.spawn(["/bin/true"]);
  await gone.exited; // a pmtr that is no longer running
  writeFileSync(path, [
    JSON.stringify({ pmtr: gone.pid }),
    JSON.stringify({ name: "kept", pid: running, start: processStart(running) }),
    JSON.stringify({ name: "old", pid: ended, start: processStart(ended) }),
    JSON.stringify({ ended }),
    "",
  ].join("\n"));
  const said: string[] = [];
  await stopPreviousGeneration(path, (_level, message) => said.push(message), 5_000);
  expect(said).toEqual([`stopping job kept [${running}], left running by a previous pmtr [${gone.pid}] that did not exit cleanly`]);
  await waitFor("the recorded job to be gone", () => !isAlive(running));
  expect(isAlive(ended)).toBe(true); // recorded as ended: not ours to stop any more
});
