// When `pmtr start|stop|restart` has its answer (SPEC §10), from snapshots before and after.

import { describe, expect, test } from "bun:test";
import { alreadyDone, deadlineFor, outcomeOf, STABLE_START_MS, timeoutOutcome } from "../../../src/control/action-outcome.ts";
import { job } from "./fake-target.ts";

const off = job("a", { state: "stopped", pid: null, reason: "stopped by pmtr stop at 14:02" });
const running = job("a", { pid: 10, reason: "up 5 s" });
const up = job("a", { pid: 11, reason: "up 0 s" });

describe("start", () => {
  test("a running job needs nothing", () => {
    expect(alreadyDone("start", running)).toEqual({ name: "a", ok: true, message: "already running [10]" });
    expect(alreadyDone("start", off)).toBeNull();
    expect(alreadyDone("stop", running)).toBeNull();
  });

  test("running is not yet started: it must last STABLE_START_MS", () => {
    expect(outcomeOf("start", off, off)).toBeNull();
    expect(outcomeOf("start", off, up, 0)).toBeNull();
    expect(outcomeOf("start", off, up, STABLE_START_MS - 1)).toBeNull();
    expect(outcomeOf("start", off, up, STABLE_START_MS)).toEqual({ name: "a", ok: true, message: "started [11]" });
  });

  test("starting (not ready yet) is pending", () => {
    expect(outcomeOf("start", off, job("a", { state: "starting", pid: 11, reason: "not ready yet (tcp 127.0.0.1:80), 1 s of 60 s" }))).toBeNull();
  });

  test("waiting fails at once, naming what it waits for", () => {
    expect(outcomeOf("start", off, job("a", { state: "waiting", pid: null, reason: "waiting for db to be ready" })))
      .toEqual({ name: "a", ok: false, message: "not started: waiting for db to be ready" });
  });

  test.each([
    ["backoff", "exit 3 after 0.2 s; restart in 8 s (attempt 4)"],
    ["backoff", "failed to start: out: open /var/log/x.log as user nobody: Permission denied; restart in 10 s (attempt 1)"],
    ["failed", "gave up: 5 exits in 60 s; pmtr start a to retry"],
    ["done", "exit 33 after 5 s: not restarted"],
  ] as const)("%s fails with the reason: %s", (state, reason) => {
    const lastExit = { kind: "exited", code: state === "done" ? 33 : 3, atMs: 1, ranMs: 200 } as const;
    expect(outcomeOf("start", off, job("a", { state, pid: null, reason, restarts: 1, lastExit })))
      .toEqual({ name: "a", ok: false, message: `not running (${state}): ${reason}` });
  });

  test("done after exit 0 is a success (once, restart on-failure)", () => {
    expect(outcomeOf("start", off, job("a", { state: "done", pid: null, reason: "exit 0 after 0.1 s: not restarted", lastExit: { kind: "exited", code: 0, atMs: 5, ranMs: 100 } })))
      .toEqual({ name: "a", ok: true, message: "ran and exited 0 (exit 0 after 0.1 s: not restarted)" });
  });

  test("a state it was already in (the previous run's) is not the answer until something moves", () => {
    const done = job("a", { state: "done", pid: null, reason: "exit 0 after 1 s: not restarted", lastExit: { kind: "exited", code: 0, atMs: 5, ranMs: 1000 } });
    expect(outcomeOf("start", done, done)).toBeNull();
    const backoff = job("a", { state: "backoff", pid: null, restarts: 3, reason: "exit 1 after 0 s; restart in 10 s (attempt 3)" });
    expect(outcomeOf("start", backoff, backoff)).toBeNull();
    expect(outcomeOf("start", backoff, { ...backoff, restarts: 4 })?.ok).toBe(false);
  });
});

describe("stop", () => {
  test("settles once no process is left", () => {
    expect(outcomeOf("stop", running, running)).toBeNull();
    expect(outcomeOf("stop", running, job("a", { state: "stopping", pid: 10 }))).toBeNull();
    expect(outcomeOf("stop", running, off)).toEqual({ name: "a", ok: true, message: "stopped" });
    expect(outcomeOf("stop", off, off)).toEqual({ name: "a", ok: true, message: "stopped (was not running)" });
  });
});

describe("restart", () => {
  test("settles on a new pid that lasts", () => {
    expect(outcomeOf("restart", running, running, 60_000)).toBeNull(); // the old process, however long it runs
    expect(outcomeOf("restart", running, job("a", { state: "stopping" }))).toBeNull();
    expect(outcomeOf("restart", running, up, 0)).toBeNull();
    expect(outcomeOf("restart", running, up, STABLE_START_MS)).toEqual({ name: "a", ok: true, message: "restarted [11]" });
  });
});

test("deadlineFor: the longest of the jobs' own deadlines", () => {
  expect(deadlineFor([job("a", { deadlineMs: 15_000 }), job("b", { deadlineMs: 70_000 })])).toBe(70_000);
});

test("timeout: the reason says where it is stuck", () => {
  expect(timeoutOutcome("start", job("a", { state: "starting", pid: 9, reason: "not ready yet (tcp 127.0.0.1:80), 30 s of 30 s" }), 35_000))
    .toEqual({ name: "a", ok: false, message: "not running after 35 s: starting [9]: not ready yet (tcp 127.0.0.1:80), 30 s of 30 s" });
  expect(timeoutOutcome("stop", job("a", { state: "stopping", pid: 9, reason: "SIGTERM sent 13 s ago; SIGKILL sent" }), 13_000))
    .toEqual({ name: "a", ok: false, message: "not stopped after 13 s: stopping [9]: SIGTERM sent 13 s ago; SIGKILL sent" });
});
