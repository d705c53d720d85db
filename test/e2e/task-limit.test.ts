// Fault 1 of issue 12: a task limit reached by a job must not kill pmtr. Under systemd
// `TasksMax=` (cgroup pids.max) a job that forks up to the limit leaves no room for a thread,
// and the Bun runtime aborts when it fails to create one it needs (measured: the first
// `check http` after the limit hung, and pmtr died 11 s later with SIGABRT, every job left
// unsupervised). pmtr creates those threads at start-up (src/os/self/runtime-threads.ts).
//
// Needs root, the cgroup pids controller (v1 or v2; the test sets up its own group), and
// prlimit and setpriv (Debian package util-linux) for the RLIMIT_NPROC case.

import { expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join, Pmtr, PMTR, cleanupPmtr, readOr, rmSync, tempDir, waitFor, writeConfig } from "../helpers.ts";

const PIDS_MAX = 48;

/** A new cgroup with the pids controller, in v2 if the machine has it there, else v1. */
function pidsCgroup(name: string): string {
  const v2 = "/sys/fs/cgroup";
  if (readOr(join(v2, "cgroup.controllers")).split(/\s+/).includes("pids")) {
    writeFileSync(join(v2, "cgroup.subtree_control"), "+pids");
    mkdirSync(join(v2, name));
    return join(v2, name);
  }
  const v1 = "/sys/fs/cgroup/pids";
  if (!existsSync(join(v1, "cgroup.procs"))) throw new Error("no cgroup pids controller (v1 /sys/fs/cgroup/pids or v2 /sys/fs/cgroup with pids): this test needs one, as root");
  mkdirSync(join(v1, name));
  return join(v1, name);
}

const procsIn = (cg: string) => readOr(join(cg, "cgroup.procs")).split("\n").filter(Boolean).map(Number);

/** The scenario, run by `wrap` (which puts pmtr under the limit) in `dir`; `leftovers` lists
 *  what may remain of the forker's children if pmtr dies, to kill. */
async function scenario(dir: string, wrap: string[], leftovers: () => number[], clientWrap: string[] = []): Promise<void> {
  // The client runs as pmtr's user: it refuses a socket owned by another (unless root's).
  const client = async (...args: string[]) => {
    const proc = Bun.spawn([...clientWrap, PMTR, ...args, "-s", sock], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    clearTimeout(timer);
    return { stdout, code };
  };
  // A checked HTTP endpoint that answers 500: `unhealthy` in pmtr's log proves its fetch ran.
  const sock = join(dir, "pmtr.sock");
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("no", { status: 500 }) });
  const forker = join(dir, "forker.pl");
  // Forks until the limit refuses, keeps what it got, and says how many.
  writeFileSync(forker, `my $n = 0;
for (1..400) { my $p = fork; next unless defined $p; if ($p == 0) { sleep 600; exit 0 } $n++ }
open my $f, ">", "${dir}/forked"; print $f "$n\\n"; close $f;
sleep 600;
`);
  const conf = writeConfig(dir, `job {
  name steady
  cmd /bin/sleep 600
  check http http://127.0.0.1:${server.port}/ every 1s failures 2
}
job {
  name forker
  cmd /usr/bin/perl ${forker}
}
`);
  const p = new Pmtr(["-F", "-c", conf, "-s", sock], { wrap });
  try {
    await waitFor("the forker to reach the limit", () => readOr(join(dir, "forked")) !== "", 20_000);
    // With the limit reached: checks keep running (each `unhealthy` is 2 failed fetches, then
    // a restart of steady), for long enough that the runtime's garbage collector and JIT have
    // run, and needed no new thread (before the fix pmtr died within 11 s of starting).
    const unhealthy = p.count(/job steady unhealthy: 2 checks failed: http 500/);
    await waitFor("5 more unhealthy verdicts", () => p.count(/job steady unhealthy: 2 checks failed: http 500/) >= unhealthy + 5, 60_000);
    const status = await client("status");
    expect(status.stdout).toMatch(/forker\s+running/);
    // Room again: stop the forker (its children are in its process group).
    expect((await client("stop", "forker")).code).toBe(0);
    await waitFor("steady running", async () => /steady\s+running/.test((await client("status")).stdout), 30_000);
    expect(p.proc.exitCode).toBeNull();
    expect(p.stderr).not.toContain("panic");
    console.log(`task-limit: pmtr threads ${readdirTasks(p.pid)}`);
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- pmtr log ---\n${p.stderr}`;
    throw e;
  } finally {
    await cleanupPmtr(p);
    // Whatever is left is the forker's: ours to kill.
    for (const pid of leftovers()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    server.stop(true);
  }
}

test("a job forking up to pids.max: pmtr lives on, answers status, runs its checks and supervises", async () => {
  const dir = tempDir("pmtr-task-limit-");
  const cg = pidsCgroup(`pmtr-test-${process.pid}-${Date.now().toString(36)}`);
  writeFileSync(join(cg, "pids.max"), String(PIDS_MAX));
  try {
    await scenario(dir, ["/bin/sh", "-c", `echo $$ > ${cg}/cgroup.procs && exec "$@"`, "sh"], () => procsIn(cg));
  } finally {
    // Best effort: a group whose processes are not all reaped yet stays (empty cgroups are free).
    await waitFor("the test cgroup to empty", () => procsIn(cg).length === 0, 10_000).catch(() => undefined);
    try {
      rmdirSync(cg);
    } catch (e) {
      console.log(`task-limit: could not remove ${cg}: ${(e as Error).message}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

function readdirTasks(pid: number): string {
  const { readdirSync } = require("node:fs") as typeof import("node:fs");
  try {
    return readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim()).sort().join(", ");
  } catch {
    return "(gone)";
  }
}

/** A uid with no passwd entry and, so, no other processes: RLIMIT_NPROC counts only pmtr's. */
const UID = 4_000_000 + (process.pid % 100_000);

test("RLIMIT_NPROC reached by a job of pmtr's own unprivileged uid: the same", async () => {
  const dir = tempDir("pmtr-task-limit-nproc-");
  chownSync(dir, UID, UID);
  const ofUid = () => readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      return statSync(`/proc/${pid}`).uid === UID;
    } catch {
      return false;
    }
  });
  try {
    const asUid = ["setpriv", `--reuid=${UID}`, `--regid=${UID}`, "--clear-groups"];
    await scenario(dir, ["prlimit", `--nproc=${PIDS_MAX}:${PIDS_MAX}`, ...asUid], ofUid, asUid);
  } finally {
    // Until none is left: a forker orphaned by a dead pmtr may still be forking.
    await waitFor("no process left with the test's uid", () => {
      const left = ofUid();
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      return left.length === 0;
    }, 10_000, 100).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
