import { describe, expect, test } from "bun:test";
import type { StatusJob } from "../../../src/control/protocol.ts";
import { formatDuration, formatExit, formatStatusTable, statusExitCode, toStatusJob } from "../../../src/control/status-format.ts";
import { job } from "./fake-target.ts";

const status = (name: string, fields: Partial<StatusJob> = {}): StatusJob => ({ ...toStatusJob(job(name)), ...fields });

test("toStatusJob: uptime only while running", () => {
  expect(toStatusJob(job("a", { sinceStartMs: 61_500, pid: 7 }))).toEqual({
    name: "a", state: "running", enabled: true, pid: 7, uptimeSec: 61, restarts: 0, lastExit: null, cmd: "/bin/a",
  });
  expect(toStatusJob(job("a", { state: "delayed", pid: null, sinceStartMs: 3_000, lastExit: { kind: "exited", code: 1 } })).uptimeSec).toBeNull();
  expect(toStatusJob(job("a", { state: "stopping", pid: 7 })).uptimeSec).toBeNull();
});

test.each([
  [0, "0s"], [59, "59s"], [60, "1m00s"], [305, "5m05s"], [3600, "1h00m"], [7500, "2h05m"], [86400, "1d00h"], [273600, "3d04h"],
])("formatDuration(%d) = %s", (sec, text) => {
  expect(formatDuration(sec)).toBe(text);
});

test("formatExit", () => {
  expect(formatExit(null)).toBe("-");
  expect(formatExit({ kind: "exited", code: 33 })).toBe("exit 33");
  expect(formatExit({ kind: "signaled", signal: "SIGKILL" })).toBe("SIGKILL");
});

test("the table: aligned columns, - for what does not apply", () => {
  const text = formatStatusTable([
    status("web", { pid: 18478, uptimeSec: 7500, restarts: 2, lastExit: { kind: "signaled", signal: "SIGTERM" } }),
    status("batch-import", { state: "failed-to-start", pid: null, uptimeSec: null, lastExit: { kind: "exited", code: 127 } }),
  ]);
  expect(text).toBe(
    "NAME          STATE            PID    UPTIME  RESTARTS  LAST EXIT\n" +
    "web           running          18478  2h05m   2         SIGTERM\n" +
    "batch-import  failed-to-start  -      -       0         exit 127\n",
  );
});

test("an empty table is the header", () => {
  expect(formatStatusTable([])).toBe("NAME  STATE  PID  UPTIME  RESTARTS  LAST EXIT\n");
});

describe("statusExitCode (LSB)", () => {
  const up = status("up");
  const down = status("down", { state: "delayed", pid: null });
  const off = status("off", { state: "disabled", pid: null });
  const done = status("done", { state: "done", pid: null });
  test("named: 0 when all run, 3 when one does not, 4 for an unknown name", () => {
    expect(statusExitCode([up], [], true)).toBe(0);
    expect(statusExitCode([up, down], [], true)).toBe(3);
    expect(statusExitCode([off], [], true)).toBe(3);
    expect(statusExitCode([up], ["nope"], true)).toBe(4);
  });
  test("unnamed: jobs down on purpose do not count", () => {
    expect(statusExitCode([up, off, done], [], false)).toBe(0);
    expect(statusExitCode([up, down], [], false)).toBe(3);
    expect(statusExitCode([], [], false)).toBe(0);
  });
});
