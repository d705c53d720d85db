// The supervisors under benchmark, pmtr and (for comparison) supervisord, each started in the
// foreground on a private temporary directory with `/bin/sleep` jobs, and a table of their
// jobs read from /proc. Each job's sleep gets a distinct argument, so the argument names the
// job: `/bin/sleep 1000042` is job 42 whichever supervisor runs it.
// Cleanup kills only what these functions started, by pid.

import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { argvOf, childrenOf, isAlive, pollUntil } from "./proc.ts";

export const PMTR = process.env.PMTR_BENCH_BIN ?? resolve(import.meta.dir, "../../../dist/pmtr");
export const SLEEP = "/bin/sleep";

export interface BenchJob {
  readonly name: string;
  /** The sleep's argument: unique per job, so it names the job in /proc. */
  readonly key: string;
  /** Extra pmtr statements inside the job block (e.g. "nice 5"); supervisord ignores them. */
  readonly extra?: readonly string[];
}

/** `count` jobs job-0..job-N-1 running `/bin/sleep <base+i>`. */
export function sleepJobs(count: number, base = 1_000_000, extra?: readonly string[]): BenchJob[] {
  return Array.from({ length: count }, (_, i) => ({ name: `job-${i}`, key: String(base + i), extra }));
}

export function pmtrConfig(jobs: readonly BenchJob[]): string {
  return jobs.map((j) => ["job {", `  name ${j.name}`, `  cmd ${SLEEP} ${j.key}`, ...(j.extra ?? []).map((l) => `  ${l}`), "}", ""].join("\n")).join("\n");
}

/** Programs equivalent to pmtr's jobs: restarted whenever they exit, counted as started at once
 *  (no startsecs grace, no backoff), stopped and killed as a process group, output discarded. */
export function supervisordConfig(dir: string, jobs: readonly BenchJob[]): string {
  const head = [
    "[supervisord]",
    "nodaemon=true",
    `logfile=${join(dir, "supervisord.log")}`,
    `pidfile=${join(dir, "supervisord.pid")}`,
    `childlogdir=${dir}`,
    "loglevel=info",
    ...(process.getuid?.() === 0 ? ["user=root"] : []),
    "",
  ];
  const programs = jobs.map((j) =>
    [
      `[program:${j.name}]`,
      `command=${SLEEP} ${j.key}`,
      "autostart=true",
      "autorestart=true",
      "startsecs=0",
      "startretries=1000000",
      "stopsignal=TERM",
      "stopwaitsecs=10",
      "stopasgroup=true",
      "killasgroup=true",
      "stdout_logfile=NONE",
      "stderr_logfile=NONE",
      "",
    ].join("\n"),
  );
  return [...head, ...programs].join("\n");
}

/** Which of a daemon's children run which job, read from /proc on each scan. A pid is
 *  remembered once it has exec'd its sleep (its argv never changes after that); a child still
 *  in pmtr's exec helper (same pid, before its execve) is counted as a helper. */
export class JobTable {
  private readonly known = new Map<number, string>();
  /** Every job pid ever seen, so cleanup can find jobs the daemon left behind. */
  readonly everSeen = new Map<number, string>();
  /** Children in pmtr's exec helper at the last scan, and the most seen at once. */
  helpers = 0;
  maxHelpers = 0;

  constructor(private readonly daemonPid: number) {}

  /** key -> pid of every job whose sleep is running now. */
  scan(): Map<string, number> {
    const now = new Map<string, number>();
    const children = childrenOf(this.daemonPid);
    const alive = new Set(children);
    for (const pid of this.known.keys()) if (!alive.has(pid)) this.known.delete(pid);
    let helpers = 0;
    for (const pid of children) {
      let key = this.known.get(pid);
      if (key === undefined) {
        const argv = argvOf(pid);
        if (argv[0] === SLEEP && argv.length === 2) {
          key = argv[1]!;
          this.known.set(pid, key);
          this.everSeen.set(pid, key);
        } else if (argv.length > 0 && argv[0] !== SLEEP) {
          // A child that has not exec'd its job yet (it still shows the daemon's argv): the exec
          // helper of old pmtr versions, or a start caught between clone and execve.
          helpers++;
        }
      }
      // A zombie is listed until reaped but no longer runs: not a running job.
      if (key !== undefined && isAlive(pid)) now.set(key, pid);
    }
    this.helpers = helpers;
    if (helpers > this.maxHelpers) this.maxHelpers = helpers;
    return now;
  }

  /** Poll until `count` jobs run; returns the table. */
  waitRunning(count: number, timeoutMs: number): Map<string, number> {
    return pollUntil(`${count} jobs running`, () => {
      const t = this.scan();
      return t.size >= count ? t : null;
    }, timeoutMs);
  }
}

export interface Daemon {
  readonly kind: "pmtr" | "supervisord";
  readonly pid: number;
  /** performance.now() just before the daemon was spawned. */
  readonly spawnedAtMs: number;
  readonly dir: string;
  readonly logPath: string;
  readonly jobs: JobTable;
  log(): string;
  /** SIGTERM, then poll until the daemon and every job it ran are gone; the time that took. */
  shutdown(timeoutMs?: number): Promise<number>;
  /** After a failure: SIGKILL the daemon if it lives, then any of its jobs left behind. */
  cleanup(): Promise<void>;
}

export function benchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pmtr-bench-${prefix}-`));
}

/** Runs `body` on a daemon started by `start` in a fresh directory (named after `prefix`);
 *  always stops it and its jobs and removes the directory and the socket's; on a failure the
 *  daemon's last log lines are printed first. */
export async function withDaemon<T>(prefix: string, start: (dir: string) => Daemon, body: (d: Daemon, dir: string) => Promise<T>): Promise<T> {
  const dir = benchDir(prefix);
  const d = start(dir);
  try {
    const result = await body(d, dir);
    if (isAlive(d.pid)) await d.shutdown();
    return result;
  } catch (e) {
    console.log(`--- ${d.kind} log (last 20 lines) ---\n${d.log().split("\n").slice(-21).join("\n")}`);
    throw e;
  } finally {
    await d.cleanup();
    removeDir(dir);
  }
}

/** The configuration and the control socket live in separate directories, as /etc/pmtr.conf
 *  and /run/pmtr.sock do: pmtr watches the configuration's directory, and the job record it
 *  keeps beside its socket would otherwise wake that watcher on every change of any job. */
export function pmtrConfPath(dir: string): string {
  return join(dir, "etc", "pmtr.conf");
}
export function pmtrSocketPath(dir: string): string {
  // PMTR_BENCH_RUN_DIR=/dev/shm puts the socket (and the job record) on a tmpfs, as /run is on
  // most hosts; by default it is in the temporary directory like everything else.
  const base = process.env.PMTR_BENCH_RUN_DIR;
  return base ? join(base, `pmtr-bench-${basename(dir)}`, "pmtr.sock") : join(dir, "run", "pmtr.sock");
}

/** `globals`: lines before the job blocks (e.g. "metrics on http://127.0.0.1:9464"). */
/** pmtr on `jobs` in `dir`; `env` is added to the bench's own environment for it alone. */
export function startPmtr(dir: string, jobs: readonly BenchJob[], args: readonly string[] = [], globals: readonly string[] = [], env: Record<string, string> = {}): Daemon {
  const conf = pmtrConfPath(dir);
  mkdirSync(dirname(conf), { recursive: true });
  mkdirSync(dirname(pmtrSocketPath(dir)), { recursive: true });
  writeFileSync(conf, globals.length === 0 ? pmtrConfig(jobs) : [...globals, "", pmtrConfig(jobs)].join("\n"), { mode: 0o644 });
  return launch("pmtr", dir, [PMTR, "-F", "-c", conf, "-s", pmtrSocketPath(dir), ...args], env);
}

export function startSupervisord(bin: string, dir: string, jobs: readonly BenchJob[]): Daemon {
  const conf = join(dir, "supervisord.conf");
  writeFileSync(conf, supervisordConfig(dir, jobs), { mode: 0o644 });
  return launch("supervisord", dir, [bin, "-n", "-c", conf]);
}

function launch(kind: Daemon["kind"], dir: string, argv: string[], env: Record<string, string> = {}): Daemon {
  const logPath = join(dir, `${kind}.stderr`);
  // A file, not a pipe: the benchmark polls synchronously and would not drain a pipe, and a
  // daemon blocked on a full pipe would be measured as slow.
  const logFd = openSync(logPath, "a", 0o644);
  const spawnedAtMs = performance.now();
  let proc: Subprocess;
  try {
    // env given explicitly: Bun.spawn's default is the environment the bench started with,
    // not process.env as changed since; `env` is what a variant adds (memory.ts: BUN_JSC_*).
    proc = Bun.spawn(argv, { stdin: "ignore", stdout: logFd, stderr: logFd, env: { ...process.env, ...env } });
  } finally {
    closeSync(logFd);
  }
  const jobs = new JobTable(proc.pid);
  const killLeftovers = () => {
    for (const [pid, key] of jobs.everSeen) {
      const argv = argvOf(pid);
      if (isAlive(pid) && argv[0] === SLEEP && argv[1] === key) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          process.kill(pid, "SIGKILL");
        }
      }
    }
  };
  return {
    kind,
    pid: proc.pid,
    spawnedAtMs,
    dir,
    logPath,
    jobs,
    log: () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : ""),
    async shutdown(timeoutMs = 30_000) {
      const pids = [...jobs.scan().values()];
      const t0 = performance.now();
      proc.kill("SIGTERM");
      pollUntil(`${kind} and its jobs to exit after SIGTERM`, () => !isAlive(proc.pid) && pids.every((p) => !isAlive(p)), timeoutMs);
      const ms = performance.now() - t0;
      await proc.exited;
      return ms;
    },
    async cleanup() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
      killLeftovers();
    },
  };
}

/** supervisord's path, installing Debian's package when missing and we may (root, apt-get);
 *  null, with the reason printed, when the comparison has to be skipped. The package's own
 *  system service is left exactly as Debian configures it: we only run our own foreground
 *  supervisord on a private configuration. */
export function ensureSupervisord(): string | null {
  const which = () => {
    const r = Bun.spawnSync(["/bin/sh", "-c", "command -v supervisord"], { stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString().trim() : null;
  };
  const found = which();
  if (found) return found;
  const aptGet = ["/usr/bin/apt-get", "/bin/apt-get"].find((p) => existsSync(p));
  if (process.getuid?.() !== 0 || !aptGet) {
    console.log("supervisord comparison skipped: supervisord is not installed and this is not root with apt-get");
    return null;
  }
  console.log("installing Debian's supervisor package for the comparison (apt-get install -y supervisor)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => Bun.spawnSync([aptGet, "install", "-y", "-q", "supervisor"], { env, stdout: "ignore", stderr: "pipe" });
  let r = install();
  if (r.exitCode !== 0) {
    Bun.spawnSync([aptGet, "update", "-q"], { env, stdout: "ignore", stderr: "ignore" });
    r = install();
  }
  const path = which();
  if (!path) console.log(`supervisord comparison skipped: apt-get install supervisor failed: ${r.stderr.toString().trim().split("\n").at(-1)}`);
  return path;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  rmSync(dirname(pmtrSocketPath(dir)), { recursive: true, force: true });
}
