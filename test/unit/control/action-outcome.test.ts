import { describe, expect, test } from "bun:test";
import { alreadyDone, DEFAULT_DEADLINE_MS, deadlineFor, outcomeOf, STABLE_START_MS, timeoutOutcome } from "../../../src/control/action-outcome.ts";
import { job } from "./fake-target.ts";

const stopped = job("a", { state: "stopped", pid: null });
const running = job("a", { pid: 10 });

describe("start", () => {
  test("a running job needs nothing", () => {
    expect(alreadyDone("start", running)).toEqual({ name: "a", ok: true, message: "already running [10]" });
    expect(alreadyDone("start", stopped)).toBeNull();
    expect(alreadyDone("stop", running)).toBeNull();
  });
  test("settles when running, or when it visibly failed", () => {
    expect(outcomeOf("start", stopped, stopped)).toBeNull();
    expect(outcomeOf("start", stopped, job("a", { pid: 11 }), STABLE_START_MS)).toEqual({ name: "a", ok: true, message: "started [11]" });
    expect(outcomeOf("start", stopped, job("a", { state: "failed-to-start", pid: null }))).toEqual({ name: "a", ok: false, message: "failed to start; the log says why" });
    expect(outcomeOf("start", stopped, job("a", { state: "delayed", pid: null, restarts: 1, lastExit: { kind: "exited", code: 1 } })))
      .toEqual({ name: "a", ok: false, message: "exited at once (last exit: exit 1); restart delayed" });
    expect(outcomeOf("start", stopped, job("a", { state: "done", pid: null, lastExit: { kind: "exited", code: 33 } })))
      .toEqual({ name: "a", ok: false, message: "exited (last exit: exit 33) and will not be restarted" });
  });
  test("a failure state it was already in does not settle until something moves", () => {
    const delayed = job("a", { state: "delayed", pid: null, restarts: 3 });
    expect(outcomeOf("start", delayed, delayed)).toBeNull();
    expect(outcomeOf("start", delayed, { ...delayed, restarts: 4 })?.ok).toBe(false);
  });
});

describe("stop", () => {
  test("settles once no process is left", () => {
    expect(outcomeOf("stop", running, running)).toBeNull();
    expect(outcomeOf("stop", running, job("a", { state: "stopping", pid: 10 }))).toBeNull();
    expect(outcomeOf("stop", running, stopped)).toEqual({ name: "a", ok: true, message: "stopped" });
    expect(outcomeOf("stop", stopped, stopped)).toEqual({ name: "a", ok: true, message: "stopped (was not running)" });
  });
});

describe("restart", () => {
  test("settles on a new pid", () => {
    expect(outcomeOf("restart", running, running)).toBeNull();
    expect(outcomeOf("restart", running, job("a", { state: "stopping" }))).toBeNull();
    expect(outcomeOf("restart", running, job("a", { pid: 12 }), STABLE_START_MS)).toEqual({ name: "a", ok: true, message: "restarted [12]" });
  });
});

test("timeout names the state it is stuck in", () => {
  expect(timeoutOutcome("start", job("a", { state: "waiting", pid: null }), 5000)).toEqual({
    name: "a", ok: false, message: "not running after 5 s: waiting (behind a `wait` job, or a `depends` file is missing)",
  });
  expect(timeoutOutcome("stop", job("a", { state: "stopping", pid: 9 }), 13000)).toEqual({ name: "a", ok: false, message: "not stopped after 13 s: stopping [9]" });
});

// A supervisor that says why (SPEC §10): `reason` present.
describe("start and restart with reasons", () => {
  const says = (fields: object) => job("a", fields as never);
  const off = says({ state: "stopped", pid: null, reason: "stopped by pmtr stop at 14:02" });

  test("running is not yet started: it must last STABLE_START_MS", () => {
    const up = says({ state: "running", pid: 11, reason: "up 0 s" });
    expect(outcomeOf("start", off, up, 0)).toBeNull();
    expect(outcomeOf("start", off, up, STABLE_START_MS - 1)).toBeNull();
    expect(outcomeOf("start", off, up, STABLE_START_MS)).toEqual({ name: "a", ok: true, message: "started [11]" });
    expect(outcomeOf("restart", says({ state: "running", pid: 10, reason: "up 5 s" }), up, STABLE_START_MS)).toEqual({ name: "a", ok: true, message: "restarted [11]" });
    // The old process, still running, is not the outcome of a restart however long it runs.
    expect(outcomeOf("restart", up, up, 60_000)).toBeNull();
  });

  test("starting (not ready yet) is pending", () => {
    expect(outcomeOf("start", off, says({ state: "starting", pid: 11, reason: "not ready yet (tcp 127.0.0.1:80), 1 s of 60 s" }))).toBeNull();
  });

  test("waiting fails at once, naming what it waits for", () => {
    expect(outcomeOf("start", off, says({ state: "waiting", pid: null, reason: "waiting for db to be ready" })))
      .toEqual({ name: "a", ok: false, message: "not started: waiting for db to be ready" });
  });

  test.each([
    ["backoff", "exit 3 after 0.2 s; restart in 8 s (attempt 4)"],
    ["backoff", "failed to start: out: open /var/log/x.log as user nobody: Permission denied; restart in 10 s (attempt 1)"],
    ["failed", "gave up: 5 exits in 60 s; pmtr start a to retry"],
    ["done", "exit 33 after 5 s: not restarted"],
  ])("%s fails with the reason: %s", (state, reason) => {
    expect(outcomeOf("start", off, says({ state, pid: null, reason, restarts: 1, lastExit: { kind: "exited", code: state === "done" ? 33 : 3 } })))
      .toEqual({ name: "a", ok: false, message: `not running (${state}): ${reason}` });
  });

  test("done after exit 0 is a success (once, restart on-failure)", () => {
    expect(outcomeOf("start", off, says({ state: "done", pid: null, reason: "exit 0 after 0.1 s: not restarted", lastExit: { kind: "exited", code: 0, atMs: 5 } })))
      .toEqual({ name: "a", ok: true, message: "ran and exited 0 (exit 0 after 0.1 s: not restarted)" });
  });

  test("a done it was already in (the previous run's) is not the answer", () => {
    const done = says({ state: "done", pid: null, reason: "exit 0 after 1 s: not restarted", lastExit: { kind: "exited", code: 0, atMs: 5 } });
    expect(outcomeOf("start", done, done)).toBeNull();
  });

  test("deadlineFor: the longest of the jobs' own deadlines, else the defaults", () => {
    expect(deadlineFor("restart", [says({ deadlineMs: 15_000 }), says({ deadlineMs: 70_000 })])).toBe(70_000);
    expect(deadlineFor("stop", [job("a")])).toBe(DEFAULT_DEADLINE_MS.stop);
  });

  test("timeout: the reason says where it is stuck", () => {
    expect(timeoutOutcome("start", says({ state: "starting", pid: 9, reason: "not ready yet (tcp 127.0.0.1:80), 30 s of 30 s" }), 35_000))
      .toEqual({ name: "a", ok: false, message: "not running after 35 s: starting [9]: not ready yet (tcp 127.0.0.1:80), 30 s of 30 s" });
  });
});
