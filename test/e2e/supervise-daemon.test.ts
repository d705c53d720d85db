// SPEC §1 and §9 end to end: without -F the command returns 0 once a background pmtr (its own
// session, stdio on /dev/null) runs the jobs; `-p` names that process, refuses a second pmtr
// (exit 3), is taken over when stale, and is removed when the daemon stops.

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { descendants, groupAlive, isAlive, join, PMTR, procStat, readOr, rmSync, runPmtr, tempDir, waitFor, writeConfig } from "../helpers.ts";

const jobConfig = (dir: string) => `
job {
  name worker
  cmd /bin/sh -c "echo $$ > ${dir}/worker.pid; exec sleep 600"
}
`;

/** Every pmtr running with configuration `conf` (a daemon is not our child: found by its unique path). */
function pmtrsWith(conf: string): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    const argv = readOr(`/proc/${pid}/cmdline`).split("\0");
    return argv.includes(conf) && (argv[0] === PMTR || readOr(`/proc/${pid}/comm`).trim() === "pmtr");
  });
}

/** Kills what a test started and left running: each daemon's jobs (by their groups), then it. */
function killDaemons(conf: string): void {
  for (const pid of pmtrsWith(conf)) {
    for (const d of descendants(pid)) {
      if (procStat(d.pid)?.session === d.pid) {
        try {
          process.kill(-d.pid, "SIGKILL");
        } catch {}
      }
    }
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

/** Runs `fn` in a fresh directory with a configuration; afterwards no daemon of it survives. */
async function withDaemonDir<T>(fn: (dir: string, conf: string) => Promise<T>, text = jobConfig): Promise<T> {
  const dir = tempDir("pmtr-sv-daemon-");
  const conf = writeConfig(dir, text(dir));
  try {
    return await fn(dir, conf);
  } finally {
    killDaemons(conf);
    rmSync(dir, { recursive: true, force: true });
  }
}

const workerPid = (dir: string) => waitFor("worker.pid", () => Number(readOr(join(dir, "worker.pid")).trim()) || null);

describe("daemon mode and pidfile (SPEC §1, §9)", () => {
  test.concurrent("returns 0; the pidfile names a live background pmtr in its own session, stdio on /dev/null, whose job runs; SIGTERM stops it all and removes the pidfile", () =>
    withDaemonDir(async (dir, conf) => {
      const pidfile = join(dir, "pmtr.pid");
      const sock = join(dir, "pmtr.sock");
      const r = await runPmtr(["-c", conf, "-p", pidfile, "-s", sock], { timeoutMs: 10_000 });
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "" });

      const daemon = Number(readOr(pidfile).trim());
      expect(daemon).toBeGreaterThan(1);
      expect(isAlive(daemon)).toBe(true);
      expect(readlinkSync(`/proc/${daemon}/exe`)).toBe(PMTR);
      expect(procStat(daemon)!.session).toBe(daemon);
      await waitFor("the daemon's stdio on /dev/null", () =>
        [0, 1, 2].every((fd) => readlinkSync(`/proc/${daemon}/fd/${fd}`) === "/dev/null"));

      const worker = await workerPid(dir);
      expect(isAlive(worker)).toBe(true);
      expect(procStat(worker)!.ppid).toBe(daemon);
      const status = await runPmtr(["-s", sock, "status", "--json", "worker"], { timeoutMs: 5000 });
      expect(JSON.parse(status.stdout).jobs[0]).toMatchObject({ name: "worker", state: "running", pid: worker });

      process.kill(daemon, "SIGTERM");
      await waitFor("the daemon to exit", () => !isAlive(daemon), 12_000);
      expect(groupAlive(worker)).toBe(false);
      expect(existsSync(pidfile)).toBe(false);
    }), 20_000);

  test.concurrent("a second pmtr with the same pidfile exits 3, foreground or not, and leaves the first alone", () =>
    withDaemonDir(async (dir, conf) => {
      const pidfile = join(dir, "pmtr.pid");
      expect((await runPmtr(["-c", conf, "-p", pidfile, "-s", join(dir, "first.sock")])).code).toBe(0);
      const daemon = Number(readOr(pidfile).trim());
      const worker = await workerPid(dir);

      for (const [label, args] of [["foreground", ["-F"]], ["daemon", []]] as const) {
        const second = await runPmtr([...args, "-c", conf, "-p", pidfile, "-s", join(dir, `second-${label}.sock`)], { timeoutMs: 10_000 });
        expect({ label, code: second.code }).toEqual({ label, code: 3 });
        expect(second.stderr).toContain(pidfile);
        expect(second.stderr).toContain(String(daemon));
      }
      expect(readOr(pidfile).trim()).toBe(String(daemon));
      expect(isAlive(daemon)).toBe(true);
      expect(isAlive(worker)).toBe(true);
      expect(Number(readOr(join(dir, "worker.pid")).trim())).toBe(worker); // never started twice
    }));

  test.concurrent("a pidfile naming a process that is gone is taken over", () =>
    withDaemonDir(async (dir, conf) => {
      const pidfile = join(dir, "pmtr.pid");
      const gone = Bun.spawn(["/bin/true"]);
      await gone.exited;
      writeFileSync(pidfile, `${gone.pid}\n`);
      expect((await runPmtr(["-c", conf, "-p", pidfile, "-s", join(dir, "pmtr.sock")])).code).toBe(0);
      const daemon = Number(readOr(pidfile).trim());
      expect(daemon).not.toBe(gone.pid);
      expect(isAlive(daemon)).toBe(true);
      await workerPid(dir);
    }));

  test.concurrent("a configuration error: exit 1 with the error on stderr, nothing left running, no pidfile", () =>
    withDaemonDir(async (dir, conf) => {
      const pidfile = join(dir, "pmtr.pid");
      const r = await runPmtr(["-c", conf, "-p", pidfile, "-s", join(dir, "pmtr.sock")], { timeoutMs: 10_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/pmtr\.conf:4: .*bogus/);
      expect(existsSync(pidfile)).toBe(false);
      expect(pmtrsWith(conf)).toEqual([]);
      expect(existsSync(join(dir, "worker.pid"))).toBe(false);
    }, (dir) => `job {\n  name worker\n  cmd /bin/sh -c "echo $$ > ${dir}/worker.pid; exec sleep 600"\n  bogus value\n}\n`));
});
