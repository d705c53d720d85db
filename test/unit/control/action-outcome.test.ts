import { describe, expect, test } from "bun:test";
import { alreadyDone, outcomeOf, timeoutOutcome } from "../../../src/control/action-outcome.ts";
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
    expect(outcomeOf("start", stopped, job("a", { pid: 11 }))).toEqual({ name: "a", ok: true, message: "started [11]" });
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
    expect(outcomeOf("restart", running, job("a", { pid: 12 }))).toEqual({ name: "a", ok: true, message: "restarted [12]" });
  });
});

test("timeout names the state it is stuck in", () => {
  expect(timeoutOutcome("start", job("a", { state: "waiting", pid: null }), 5000)).toEqual({
    name: "a", ok: false, message: "not running after 5 s: waiting (behind a `wait` job, or a `depends` file is missing)",
  });
  expect(timeoutOutcome("stop", job("a", { state: "stopping", pid: 9 }), 13000)).toEqual({ name: "a", ok: false, message: "not stopped after 13 s: stopping [9]" });
});
