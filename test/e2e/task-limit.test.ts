// Fault 1 of issue 12: a task limit reached by a job must not kill pmtr. Under systemd
// `TasksMax=` (cgroup pids.max) a job that forks up to the limit leaves no room for a thread,
// and the Bun runtime aborts when it fails to create one it needs (measured: the first
// `check http` after the limit hung, and pmtr died 11 s later with SIGABRT, every job left
// unsupervised). pmtr creates those threads at start-up (src/os/runtime-threads.ts).
//
// Needs root and the cgroup pids controller (v1 or v2; the test sets up its own group).

import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join, Pmtr, cleanupPmtr, readOr, rmSync, runPmtr, tempDir, waitFor, writeConfig } from "../helpers.ts";

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

test("a job forking up to pids.max: pmtr lives on, answers status, runs its checks and supervises", async () => {
  const dir = tempDir("pmtr-task-limit-");
  const cg = pidsCgroup(`pmtr-test-${process.pid}-${Date.now().toString(36)}`);
  writeFileSync(join(cg, "pids.max"), String(PIDS_MAX));
  // A checked HTTP endpoint that answers 500: `unhealthy` in pmtr's log proves its fetch ran.
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
  const sock = join(dir, "pmtr.sock");
  const p = new Pmtr(["-F", "-c", conf, "-s", sock], { wrap: ["/bin/sh", "-c", `echo $$ > ${cg}/cgroup.procs && exec "$@"`, "sh"] });
  try {
    await waitFor("the forker to reach the limit", () => readOr(join(dir, "forked")) !== "", 20_000);
    expect(Number(readOr(join(cg, "pids.current")))).toBeGreaterThanOrEqual(PIDS_MAX - 2);
    // With the limit reached: checks keep running (each `unhealthy` is 2 failed fetches, then
    // a restart of steady), for long enough that the runtime's garbage collector and JIT have
    // run, and needed no new thread (before the fix pmtr died within 11 s of starting).
    const unhealthy = p.count(/job steady unhealthy: 2 checks failed: http 500/);
    await waitFor("5 more unhealthy verdicts", () => p.count(/job steady unhealthy: 2 checks failed: http 500/) >= unhealthy + 5, 60_000);
    const status = await runPmtr(["status", "-s", sock], { timeoutMs: 20_000 });
    expect(status.stdout).toMatch(/forker\s+running/);
    // Room again: stop the forker (its children are in its process group).
    expect((await runPmtr(["stop", "forker", "-s", sock], { timeoutMs: 30_000 })).code).toBe(0);
    await waitFor("steady running", async () => /steady\s+running/.test((await runPmtr(["status", "-s", sock], { timeoutMs: 20_000 })).stdout), 30_000);
    expect(p.proc.exitCode).toBeNull();
    expect(p.stderr).not.toContain("panic");
    console.log(`task-limit: pmtr threads ${readdirTasks(p.pid)}`);
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- pmtr log ---\n${p.stderr}`;
    throw e;
  } finally {
    await cleanupPmtr(p);
    // Whatever is left in the group is the forker's: ours to kill.
    for (const pid of procsIn(cg)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    // Best effort: a group whose processes are not all reaped yet stays (empty cgroups are free).
    await waitFor("the test cgroup to empty", () => procsIn(cg).length === 0, 10_000).catch(() => undefined);
    try {
      rmdirSync(cg);
    } catch (e) {
      console.log(`task-limit: could not remove ${cg}: ${(e as Error).message}`);
    }
    server.stop(true);
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
