import { describe, expect, test } from "bun:test";
import type { StatusJob } from "../../../src/control/protocol.ts";
import { formatBytes, formatDetail, formatDuration, formatExit, formatSeconds, formatStatusTable, statusExitCode, toStatusJob } from "../../../src/control/status-format.ts";
import { job } from "./fake-target.ts";

const status = (name: string, fields: Partial<StatusJob> = {}): StatusJob => ({ ...toStatusJob(job(name)), ...fields });

test("toStatusJob: uptime only while running; every documented field, nothing else", () => {
  expect(toStatusJob(job("a", { sinceStartMs: 61_500, pid: 7, reason: "up 1m01s" }))).toEqual({
    name: "a", state: "running", reason: "up 1m01s", enabled: true, pid: 7, uptimeSec: 61, startedAt: null, restarts: 0, lastExit: null,
    lastStartError: null, nextRestartAt: null, exits: [], ready: true, statusText: null, cmd: "/bin/a", argv: ["/bin/a"],
    user: null, dir: "/", out: "/dev/null", err: "/dev/null", source: { file: "/etc/pmtr.conf", line: 1 }, usage: null,
  });
  expect(toStatusJob(job("a", { state: "backoff", pid: null, sinceStartMs: 3_000, lastExit: { kind: "exited", code: 1, atMs: 1, ranMs: 1 } })).uptimeSec).toBeNull();
  expect(toStatusJob(job("a", { state: "stopping", pid: 7 })).uptimeSec).toBeNull();
});

test("toStatusJob: the supervisor's details pass through; usage only with a process", () => {
  const details = {
    reason: "exit 3 after 0.2 s; restart in 8 s (attempt 4)", startedAt: 1000, nextRestartAt: 9000,
    lastExit: { kind: "exited", code: 3, atMs: 1200, ranMs: 200 }, exits: [{ kind: "signaled", signal: "SIGKILL", atMs: 500, ranMs: 40 }, { kind: "exited", code: 3, atMs: 1200, ranMs: 200 }],
    lastStartError: { step: "out", error: "open /var/log/x.log as user nobody: Permission denied", atMs: 400 },
    ready: false, statusText: "warming up", argv: ["/bin/web", "--port", "80"], user: "www", dir: "/srv", out: "/var/log/web.log", err: "/dev/null",
    source: { file: "/etc/pmtr.conf", line: 12 },
  };
  const s = toStatusJob(job("web", { state: "backoff" as never, pid: null, ...details, deadlineMs: 15_000 } as never), { rssBytes: 1, cpuSeconds: 1, processes: 1 });
  expect(s).toMatchObject({ ...details, exits: details.exits, usage: null });
  expect(s).not.toHaveProperty("deadlineMs");
  expect(toStatusJob(job("web", { pid: 9 }), { rssBytes: 2048, cpuSeconds: 1.5, processes: 2 }).usage).toEqual({ rssBytes: 2048, cpuSeconds: 1.5, processes: 2 });
});

test.each([
  [0, "0 s"], [59, "59 s"], [60, "1m00s"], [305, "5m05s"], [3600, "1h00m"], [7500, "2h05m"], [86400, "1d00h"], [273600, "3d04h"],
])("formatDuration(%d) = %s", (sec, text) => {
  expect(formatDuration(sec)).toBe(text);
});

test("formatExit", () => {
  expect(formatExit(null)).toBe("-");
  expect(formatExit({ kind: "exited", code: 33 })).toBe("exit 33");
  expect(formatExit({ kind: "signaled", signal: "SIGKILL" })).toBe("SIGKILL");
});

test("the table: aligned columns, - for what does not apply, INFO last", () => {
  const text = formatStatusTable([
    status("web", { pid: 18478, uptimeSec: 7500, restarts: 2, reason: "up 2h05m", lastExit: { kind: "signaled", signal: "SIGTERM", atMs: 0, ranMs: 0 } }),
    status("batch-import", { state: "backoff", pid: null, uptimeSec: null, reason: "exit 127 after 0 s; restart in 10 s (attempt 1)", lastExit: { kind: "exited", code: 127, atMs: 0, ranMs: 0 } }),
  ]);
  expect(text).toBe(
    "NAME          STATE    PID    RESTARTS  LAST EXIT  INFO\n" +
    "web           running  18478  2         SIGTERM    up 2h05m\n" +
    "batch-import  backoff  -      0         exit 127   exit 127 after 0 s; restart in 10 s (attempt 1)\n",
  );
});

test("an empty table is the header", () => {
  expect(formatStatusTable([])).toBe("NAME  STATE  PID  RESTARTS  LAST EXIT  INFO\n");
});

test("a reason with a newline stays on its row", () => {
  expect(formatStatusTable([status("a", { reason: "x\ny" })]).split("\n")[1]).toEndWith("x y");
});

test("the detail view: every fact on its own line, the last exits newest first", () => {
  const at = (h: number, m: number, sec: number) => new Date(2026, 11, 1, h, m, sec).getTime();
  const now = at(14, 0, 0);
  const text = formatDetail(status("web", {
    state: "backoff", pid: null, uptimeSec: null, restarts: 4, reason: "exit 3 after 0.2 s; restart in 8 s (attempt 4)",
    startedAt: at(13, 59, 50), nextRestartAt: at(14, 0, 8),
    lastExit: { kind: "exited", code: 3, atMs: at(13, 59, 50), ranMs: 200 },
    exits: [{ kind: "signaled", signal: "SIGKILL", atMs: at(13, 0, 0), ranMs: 3_725_000 }, { kind: "exited", code: 3, atMs: at(13, 59, 50), ranMs: 200 }],
    lastStartError: { step: "out", error: "open /var/log/x.log as user nobody: Permission denied", atMs: at(13, 30, 0) },
    ready: false, statusText: null, argv: ["/usr/bin/web", "--greeting", "hello world", ""], user: "nobody", dir: "/srv/web",
    out: "/var/log/web.log", err: "/dev/null", source: { file: "/etc/pmtr.conf", line: 12 }, usage: null,
  }), now);
  expect(text).toBe([
    "web",
    "  state         backoff: exit 3 after 0.2 s; restart in 8 s (attempt 4)",
    "  pid           -",
    "  last started  2026-12-01 13:59:50 (10 s ago)",
    "  restarts      4",
    "  last exit     exit 3 after 0.2 s, at 2026-12-01 13:59:50 (10 s ago)",
    "  start error   out: open /var/log/x.log as user nobody: Permission denied (2026-12-01 13:30:00)",
    "  next restart  2026-12-01 14:00:08 (in 8 s)",
    "  ready         no",
    '  command       /usr/bin/web --greeting "hello world" ""',
    "  user          nobody",
    "  dir           /srv/web",
    "  out           /var/log/web.log",
    "  err           /dev/null",
    "  defined in    /etc/pmtr.conf:12",
    "  last 2 exits, newest first:",
    "    exit 3 after 0.2 s, at 2026-12-01 13:59:50 (10 s ago)",
    "    SIGKILL after 1h02m, at 2026-12-01 13:00:00 (1h00m ago)",
    "",
  ].join("\n"));
});

test("the detail view of a running job shows its process group's memory and CPU", () => {
  const text = formatDetail(status("web", { pid: 42, usage: { rssBytes: 12.5 * 1024 * 1024, cpuSeconds: 3.25, processes: 3 } }), Date.now());
  expect(text).toContain("  memory      12.5 MiB RSS in 3 processes of its process group\n");
  expect(text).toContain("  cpu         3.3 s (user + system, live processes of its group)\n");
});

test.each([[0, "0 B"], [512, "512 B"], [2048, "2.0 KiB"], [1536 * 1024, "1.5 MiB"], [300 * 1024 * 1024, "300 MiB"], [12.5 * 1024 * 1024, "12.5 MiB"], [5 * 1024 ** 3, "5.0 GiB"]])("formatBytes(%d) = %s", (n, text) => {
  expect(formatBytes(n)).toBe(text);
});

test.each([[0.04, "0 s"], [0.25, "0.3 s"], [9.94, "9.9 s"], [12.4, "12 s"], [65, "1m05s"]])("formatSeconds(%d) = %s", (n, text) => {
  expect(formatSeconds(n)).toBe(text);
});

describe("statusExitCode (LSB)", () => {
  const up = status("up");
  const down = status("down", { state: "stopping" });
  const backoff = status("backoff", { state: "backoff", pid: null });
  const failed = status("failed", { state: "failed", pid: null });
  const starting = status("starting", { state: "starting", pid: 5 });
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
    for (const j of [backoff, failed, starting]) expect({ state: j.state, code: statusExitCode([up, j], [], false) }).toEqual({ state: j.state, code: 3 });
  });
});
