// The LSB init script run for real, as an init system would run it, through start, status,
// reload, stop and status, once with start-stop-daemon (Debian) and once with the plain sh
// fallback (RedHat-style). Binary, configuration and pidfile come from a settings file named
// by PMTR_DEFAULTS and from the environment, so nothing outside a temporary directory is used.

import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { PMTR, isAlive, join, readOr, rmSync, tempDir, waitFor, writeConfig } from "../helpers.ts";

/** On a host without /dev/log a detaching pmtr says where its messages go instead (SPEC §13);
 *  with syslog it says nothing. Either is right here: the test does not choose the host. */
const NO_SYSLOG = existsSync("/dev/log") ? "" : "(pmtr: no syslog at /dev/log: pmtr's messages go to \\S+ \\(choose another file with -l FILE\\)\\n)?";

const SCRIPT = resolve(import.meta.dir, "../../sysvinit/pmtr");
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Setup {
  dir: string;
  conf: string;
  pidfile: string;
  jobPidfile: string;
  run(action: string, extraEnv?: Record<string, string>): { code: number; out: string };
}

function setup(variant: { START_STOP_DAEMON?: string }): Setup {
  const dir = tempDir("pmtr-sysv-");
  const jobPidfile = join(dir, "job.pid");
  const conf = writeConfig(dir, `job {\n  name sleeper\n  cmd /bin/sh -c "echo $$ > ${jobPidfile}; exec sleep 600"\n}\n`);
  const pidfile = join(dir, "pmtr.pid");
  // The settings file sets the binary, the config and options (a private control socket, not
  // /run/pmtr.sock); the pidfile comes from the environment.
  const defaults = join(dir, "defaults");
  writeFileSync(defaults, `PMTR=${PMTR}\nPMTR_CONF=${conf}\nPMTR_OPTS="-s ${join(dir, "pmtr.sock")}"\n`);
  const s: Setup = {
    dir, conf, pidfile, jobPidfile,
    run(action, extraEnv = {}) {
      const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", PMTR_DEFAULTS: defaults, PMTR_PIDFILE: pidfile, ...variant, ...extraEnv };
      const p = Bun.spawnSync(["sh", SCRIPT, action], { env, stdout: "pipe", stderr: "pipe", timeout: 40_000 });
      return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
    },
  };
  cleanups.push(() => {
    // Whatever this test started, by pid: pmtr from its pidfile, the job from its own.
    for (const f of [pidfile, jobPidfile]) {
      const pid = Number(readOr(f).trim());
      if (pid > 0 && isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** Each script run may wait for a stop (pmtr gives its jobs 10 s); a deadline, not a timing claim. */
const SLOW_MS = 60_000;
const pidIn = (file: string) => Number(readFileSync(file, "utf8").trim());

describe.each([
  ["start-stop-daemon", {}],
  ["plain sh", { START_STOP_DAEMON: "" }],
] as const)("sysvinit/pmtr with %s", (_name, variant) => {
  test("start, status, reload, stop, status", async () => {
    const s = setup(variant);
    expect(s.run("status")).toEqual({ code: 3, out: "pmtr is not running\n" });

    const started = s.run("start");
    expect(started.out).toMatch(new RegExp(`^pmtr started \\(pid \\d+\\)\n${NO_SYSLOG}$`));
    expect(started.code).toBe(0);
    const pid = pidIn(s.pidfile);
    expect(isAlive(pid)).toBe(true);
    const jobPid = await waitFor("the job to write its pid", () => Number(readOr(s.jobPidfile).trim()));
    expect(isAlive(jobPid)).toBe(true);

    expect(s.run("start")).toEqual({ code: 0, out: `pmtr is already running (pid ${pid})\n` });
    expect(s.run("status")).toEqual({ code: 0, out: `pmtr is running (pid ${pid})\n` });

    // SIGHUP's default action would kill pmtr: still running afterwards means it was handled.
    expect(s.run("reload")).toEqual({ code: 0, out: `pmtr reloading ${s.conf} (pid ${pid})\n` });
    expect(s.run("force-reload").code).toBe(0);
    expect(s.run("status")).toEqual({ code: 0, out: `pmtr is running (pid ${pid})\n` });
    expect(isAlive(jobPid)).toBe(true); // an unchanged job is left alone by a reload

    expect(s.run("stop")).toEqual({ code: 0, out: "pmtr stopped\n" });
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(jobPid)).toBe(false); // pmtr stopped its job before exiting
    expect(readOr(s.pidfile, "gone")).toBe("gone");
    expect(s.run("status")).toEqual({ code: 3, out: "pmtr is not running\n" });
    expect(s.run("stop")).toEqual({ code: 0, out: "pmtr is not running\n" });
  }, SLOW_MS);

  test("restart gives a new pmtr", async () => {
    const s = setup(variant);
    expect(s.run("start").code).toBe(0);
    const first = pidIn(s.pidfile);
    const restarted = s.run("restart");
    expect(restarted.code).toBe(0);
    expect(restarted.out).toMatch(new RegExp(`^pmtr stopped\npmtr started \\(pid \\d+\\)\n${NO_SYSLOG}$`));
    const second = pidIn(s.pidfile);
    expect(second).not.toBe(first);
    expect(isAlive(first)).toBe(false);
    expect(isAlive(second)).toBe(true);
    expect(s.run("stop").code).toBe(0);
  }, SLOW_MS);

  test("a stale pidfile: status 1, and start replaces it", async () => {
    const s = setup(variant);
    const dead = Bun.spawnSync(["/bin/true"]).pid; // a pid that has exited and been reaped
    writeFileSync(s.pidfile, `${dead}\n`);
    expect(s.run("status")).toEqual({ code: 1, out: `pmtr is not running, but ${s.pidfile} remains\n` });
    expect(s.run("reload")).toEqual({ code: 7, out: "pmtr is not running\n" });
    expect(s.run("start").code).toBe(0);
    expect(pidIn(s.pidfile)).not.toBe(dead);
    expect(s.run("stop").code).toBe(0);
  }, SLOW_MS);
});

describe("sysvinit/pmtr refuses clearly", () => {
  test("an invalid configuration: LSB 6 (not configured), with pmtr's own error", () => {
    const s = setup({});
    writeFileSync(s.conf, "job {\n  name x\n  cmd /bin/true\n  bogus 1\n}\n");
    const r = s.run("start");
    expect(r.code).toBe(6);
    expect(r.out).toContain(`${s.conf}:4: unknown keyword "bogus"`);
    expect(r.out).toContain(`pmtr: not started: ${s.conf} has errors`);
    expect(s.run("status").code).toBe(3);
  });

  test("missing binary: 5; missing configuration: 6; unknown action: 2", () => {
    const s = setup({});
    expect(s.run("start", { PMTR_DEFAULTS: "/nonexistent", PMTR: join(s.dir, "nope") }))
      .toEqual({ code: 5, out: `pmtr: ${join(s.dir, "nope")} is not installed or not executable\n` });
    expect(s.run("start", { PMTR_DEFAULTS: "/nonexistent", PMTR: PMTR, PMTR_CONF: join(s.dir, "none.conf") }))
      .toEqual({ code: 6, out: `pmtr: configuration file ${join(s.dir, "none.conf")} does not exist\n` });
    const bad = s.run("frobnicate");
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("usage:");
  });

  test("an LSB header and POSIX sh syntax", () => {
    const text = readFileSync(SCRIPT, "utf8");
    const header = text.slice(text.indexOf("### BEGIN INIT INFO"), text.indexOf("### END INIT INFO"));
    for (const line of ["# Provides:          pmtr", "# Default-Start:     2 3 4 5", "# Default-Stop:      0 1 6", "# Required-Start:", "# Short-Description:"]) {
      expect(header).toContain(line);
    }
    expect(text.startsWith("#!/bin/sh\n")).toBe(true);
    expect(Bun.spawnSync(["sh", "-n", SCRIPT]).exitCode).toBe(0);
  });
});
