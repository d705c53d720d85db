// Daemon mode with real processes: fixtures/daemon-harness.ts runs detach() as the command and
// plays the background pmtr. Reading the command's stdout and stderr to end-of-file doubles as
// the check that the background process no longer holds them once the command returns.

import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readPid } from "../../../src/os/self/pidfile.ts";
import { isAlive, tempDir, waitFor } from "../../helpers.ts";

const HARNESS = join(import.meta.dir, "fixtures", "daemon-harness.ts");
const daemons: number[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const pid of daemons) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function command(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, HARNESS, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { pid: proc.pid, code, stdout, stderr };
}

function field(pid: number, index: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[index - 3]);
}

describe("detach", () => {
  test("returns 0 with a background process running in its own session, stdio on /dev/null, named by the pidfile", async () => {
    const dir = tempDir("pmtr-daemon-");
    dirs.push(dir);
    const r = await command(["ready", dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("pmtr: starting\n"); // before readiness: shown; after: nowhere
    expect(r.stdout).toBe("");
    const pid = readPid(join(dir, "daemon.pid"))!;
    daemons.push(pid);
    expect(pid).not.toBe(r.pid);
    expect(isAlive(pid)).toBe(true);
    expect(field(pid, 6)).toBe(pid); // session id: it leads its own session
    expect([0, 1, 2].map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`))).toEqual(["/dev/null", "/dev/null", "/dev/null"]);
    // Nothing else it holds is a pipe (the command's stdout/stderr here).
    expect(readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`)).filter((t) => t.startsWith("pipe:"))).toEqual([]);
    // Its jobs do not inherit the marker.
    const env = await waitFor("the job's environment dump", () => readFileSync(join(dir, "job-env"), "utf8"));
    expect(env).not.toContain("PMTR_DAEMON_CHILD");
    // It wrote to stdout and stderr after readiness (before starting that job) and is still
    // running: the caller's stderr here is a socket, as systemd's journal is.
    expect(isAlive(pid)).toBe(true);
    process.kill(pid, "SIGTERM");
    await waitFor("the pidfile to be removed on exit", () => readPid(join(dir, "daemon.pid")) === null);
  });

  test("a start-up failure: its lines reach the command's stderr and its code is the command's", async () => {
    const r = await command(["fail"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pmtr.conf:3: unknown keyword "bogus"\npmtr: keeping nothing, exiting\n');
  });

  test("a pidfile held by a live pmtr fails the command with 3 and the pidfile's message", async () => {
    const dir = tempDir("pmtr-daemon-");
    dirs.push(dir);
    expect((await command(["ready", dir])).code).toBe(0);
    const first = readPid(join(dir, "daemon.pid"))!;
    daemons.push(first);
    // The harness runs as bun, the program of this test runner: it counts as a live pmtr here.
    const r = await command(["ready", dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`pidfile ${join(dir, "daemon.pid")} names pmtr [${first}], which is still running`);
    expect(readPid(join(dir, "daemon.pid"))).toBe(first);
  });

  test("a child that dies before reporting: its status, and one line saying so", async () => {
    const r = await command(["crash"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/^pmtr: the background pmtr \[\d+\] exited \(status 7\) before it had started\n$/);
  });

  test("a child that never reports: exit 3 after the timeout, the child named and stopped", async () => {
    const r = await command(["hang"], { HARNESS_TIMEOUT_MS: "300" });
    expect(r.code).toBe(3);
    const pid = Number(/\[(\d+)\]/.exec(r.stderr)?.[1]);
    daemons.push(pid);
    expect(r.stderr).toBe(`pmtr: the background pmtr [${pid}] did not report that it started within 0.3 s; stopped it (run with -F to watch it start)\n`);
    await waitFor("the child to be stopped", () => !isAlive(pid));
  });
});

describe("takeDaemonChild", () => {
  test("no marker: this is the command", async () => {
    expect((await command(["probe"])).stdout).toBe("no marker\nstill here, marker now gone\n");
  });

  test("a marker set by hand, fd 3 a plain file: no detach, nothing written there, stdio untouched", async () => {
    const dir = tempDir("pmtr-daemon-");
    dirs.push(dir);
    const file = join(dir, "fd3");
    writeFileSync(file, "");
    const fd = openSync(file, "r+");
    const proc = Bun.spawn([process.execPath, HARNESS, "probe"], { stdio: ["ignore", "pipe", "inherit", fd], env: { ...process.env, PMTR_DAEMON_CHILD: "3" } });
    const stdout = await new Response(proc.stdout).text();
    closeSync(fd);
    expect(stdout).toBe("marker\nstill here, marker now gone\n");
    expect(readFileSync(file, "utf8")).toBe("");
  });
});
