// Orphan reaping with real processes: fixtures/reaper-harness.ts leaves orphans behind (each a
// shell's background child, reparented when the shell exits) and reaps them on SIGCHLD, once as
// a child subreaper and once as PID 1 of its own pid namespace (a container's pmtr). A control
// run that does not reap shows the orphans really do come to the harness as zombies.

import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bunOwnedPids, childPids, childPidsFromStat } from "../../../src/os/proc/reaper.ts";

const HARNESS = join(import.meta.dir, "fixtures", "reaper-harness.ts");
const ORPHANS = 20;

interface Report {
  pid: number;
  subreaperError: string | null;
  orphans: number[];
  reaped: number[];
  zombies: number[];
  ownExit: number;
}

async function runHarness(prefix: string[], mode: "reap" | "reap-noskip" | "none"): Promise<Report> {
  const proc = Bun.spawn([...prefix, process.execPath, HARNESS, String(ORPHANS), mode], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (proc.exitCode !== 0) throw new Error(`harness exited ${proc.exitCode}:\n${out}\n${err}`);
  return JSON.parse(out);
}

const sorted = (pids: number[]) => [...pids].sort((a, b) => a - b);
const NAMESPACE = ["unshare", "--pid", "--fork", "--mount-proc"];

describe("reapOrphans", () => {
  test("as a child subreaper: every orphan is reaped, no zombie stays, Bun's own child keeps its status", async () => {
    const r = await runHarness([], "reap");
    expect(r.subreaperError).toBeNull();
    expect(r.reaped).toEqual(sorted(r.orphans));
    expect(r.zombies).toEqual([]);
    expect(r.ownExit).toBe(3);
  });

  test("with an empty skip set, Bun's own children are still left to Bun (their pidfds)", async () => {
    const r = await runHarness([], "reap-noskip");
    expect(r.reaped).toEqual(sorted(r.orphans));
    expect(r.zombies).toEqual([]);
    expect(r.ownExit).toBe(3);
  });

  test("control: without reaping, the same orphans stay as zombies of the subreaper", async () => {
    const r = await runHarness([], "none");
    expect(r.zombies).toEqual(sorted(r.orphans));
  });

  test("as PID 1 of a pid namespace: every orphan is reaped", async () => {
    const r = await runHarness(NAMESPACE, "reap");
    expect(r.pid).toBe(1);
    expect(r.reaped).toEqual(sorted(r.orphans));
    expect(r.zombies).toEqual([]);
    expect(r.ownExit).toBe(3);
  });

  test("control: as PID 1 without reaping, the orphans stay as zombies", async () => {
    const r = await runHarness(NAMESPACE, "none");
    expect(r.zombies).toEqual(sorted(r.orphans));
  });
});

describe("childPids", () => {
  const procs: Array<ReturnType<typeof Bun.spawn>> = [];
  afterAll(() => procs.forEach((p) => p.kill("SIGKILL")));

  test("lists our children, the same with and without the children files", () => {
    procs.push(Bun.spawn(["/bin/sleep", "30"]), Bun.spawn(["/bin/sleep", "30"]));
    const pids = procs.map((p) => p.pid);
    expect(childPids()).toEqual(expect.arrayContaining(pids));
    expect(sorted(childPidsFromStat())).toEqual(sorted(childPids()));
  });

  test("Bun's children are named by its pidfds until it has collected them", async () => {
    const p = Bun.spawn(["/bin/sh", "-c", "exit 0"]);
    expect(bunOwnedPids().has(p.pid)).toBe(true);
    await p.exited;
    expect(bunOwnedPids().has(p.pid)).toBe(false);
  });
});
