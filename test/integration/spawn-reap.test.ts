// Who collects which exit. pmtr's own children (spawn.c) are collected by pid by
// spawn/children.ts; reaper.ts must leave them alone even when it runs first, and neither may
// take the exit of a child Bun spawned (Bun waits for those itself and would lose the status).

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { makeJob } from "../../src/config/defaults.ts";
import type { ExitStatus } from "../../src/core/ports.ts";
import { reapOrphans } from "../../src/os/proc/reaper.ts";
import { createSpawner } from "../../src/os/spawn/index.ts";
import { waitFor } from "../helpers.ts";

const isZombie = (pid: number) => /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

test("an ended job is left to the spawner by the orphan reaper, and reported with its status", async () => {
  const exits = new Map<number, ExitStatus>();
  const sp = createSpawner({ onExit: (pid, status) => exits.set(pid, status) });
  const outcome = await sp.start(makeJob({ name: "z", argv: ["/bin/sh", "-c", "exit 5"] }));
  if (!outcome.ok) throw new Error(outcome.error);
  // Spin without yielding, so no SIGCHLD listener runs: the job becomes a zombie meanwhile.
  const deadline = Date.now() + 10_000;
  while (!isZombie(outcome.pid) && Date.now() < deadline) Bun.sleepSync(1);
  expect(isZombie(outcome.pid)).toBe(true);
  expect(reapOrphans(new Set())).not.toContain(outcome.pid);
  expect(await waitFor("the job's exit", () => exits.get(outcome.pid))).toEqual({ kind: "exited", code: 5 });
});

test("a Bun.spawn child keeps its status for Bun while the spawner collects its own around it", async () => {
  const exits = new Map<number, ExitStatus>();
  const sp = createSpawner({ onExit: (pid, status) => exits.set(pid, status) });
  const bunChild = Bun.spawn(["/bin/sh", "-c", "exit 7"]);
  const ours = await Promise.all([1, 2, 3].map((code) => sp.start(makeJob({ name: "j", argv: ["/bin/sh", "-c", `exit ${code}`] }))));
  expect(await bunChild.exited).toBe(7);
  for (const [i, o] of ours.entries()) {
    if (!o.ok) throw new Error(o.error);
    expect(await waitFor(`exit of job ${i + 1}`, () => exits.get(o.pid))).toEqual({ kind: "exited", code: i + 1 });
  }
});
