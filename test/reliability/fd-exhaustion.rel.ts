// File descriptor exhaustion (issue 7): pmtr under `prlimit --nofile=64:64` asked to run 100
// jobs (one in four with `nice 1`), each holding one fd in pmtr (`out syslog`: the read end of
// its pipe; a start itself holds none once it returns), runs what its fds allow, says
// why each of the others cannot start, retries them after the delay, never runs a job twice or
// loses track of one, and stops everything at shutdown. /dev/log is absent here, as in most
// containers: every message must reach stderr.

import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { cleanupPmtr, join, Pmtr, PMTR, pidsWithArg, procStat, rmSync, tempDir, waitFor, writeConfig, isAlive } from "../helpers.ts";
import { allStartedPids, explain, footprint, leftovers, report } from "./lib.ts";

const JOBS = 100;
const NOFILE = 64;
const TAG = `pmtr-rel-fds-${process.pid}-${Date.now().toString(36)}`;
const dir = tempDir("pmtr-rel-fds-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Live processes whose environment holds `entry`. */
function withEnvMarker(entry: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "utf8").split("\0").includes(entry) && isAlive(Number(name))) found.push(`${name} ${readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ")}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Group leaders running job i (a run of a job leads its own process group). */
const runsOf = (i: number) => pidsWithArg(`${TAG}-j${i}`).filter((pid) => procStat(pid)?.pgrp === pid && isAlive(pid));

test(`${JOBS} jobs with ${NOFILE} fds: the jobs that fit run, the others fail to start with the reason and are retried; none runs twice or is lost`, async () => {
  const conf = writeConfig(dir, Array.from({ length: JOBS }, (_, i) =>
    `job {\n  name j${i}\n  cmd /bin/sh -c "sleep 600" ${TAG}-j${i}\n  env PMTR_REL_TAG=${TAG}\n  out syslog\n${i % 4 === 3 ? "  nice 1\n" : ""}}\n`).join(""));
  const p = new Pmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], { wrap: ["prlimit", `--nofile=${NOFILE}:${NOFILE}`] });
  try {
    await p.waitLog(`pmtr: managing ${JOBS} jobs`, 15_000);
    await waitFor("a start refused for want of fds", () => /failed to start: .*(Too many open files|EMFILE)/i.test(p.stderr), 15_000);
    // Past the 10 s delay: the refused jobs have been retried at least once.
    await waitFor("a refused job retried after the delay (started again, or refused again)", () => {
      const lines = p.stderr.split("\n");
      return lines.some((line, at) => {
        const name = /: job (j\d+) failed to start: /.exec(line)?.[1];
        return name !== undefined && lines.slice(at + 1).some((l) => l.includes(`job ${name} failed to start`) || l.includes(`started job ${name} [`));
      });
    }, 20_000);
    const fds = footprint(p.pid).fds;

    // Every job: at most one run at a time, and that run is the one pmtr last logged (a start
    // in flight is logged a moment after its process appears: it gets that moment).
    let bad: string[] = [];
    await waitFor("every job at most once, each run the one pmtr logged", () => {
      bad = [];
      for (let i = 0; i < JOBS; i++) {
        const runs = runsOf(i);
        if (runs.length > 1) bad.push(`j${i} runs ${runs.length} times: ${runs.join(" ")}`);
        const started = [...p.stderr.matchAll(new RegExp(`: started job j${i} \\[(\\d+)\\]\\n`, "g"))].map((m) => Number(m[1]));
        if (runs.length === 1 && started.at(-1) !== runs[0]) bad.push(`j${i} runs as ${runs[0]}, which pmtr did not log as started`);
      }
      return bad.length === 0;
    }, 5_000).catch(() => undefined);
    const running = Array.from({ length: JOBS }, (_, i) => runsOf(i)).flat();
    expect(bad).toEqual([]);
    expect(running.length).toBeGreaterThan(0);
    expect(running.length).toBeLessThan(JOBS);
    // Each refusal says which job, which step and why.
    const refusals = p.stderr.split("\n").filter((l) => l.includes("failed to start"));
    expect(refusals.filter((l) => !/: job j\d+ failed to start: \w+: .*(Too many open files|EMFILE)/i.test(l))).toEqual([]);
    // The control socket answers (3: some job is not running), or cannot accept for want of an
    // fd (4, said in words); either way pmtr is alive and well.
    const statusCodes: number[] = [];
    for (let k = 0; k < 3; k++) {
      const client = Bun.spawn([PMTR, "-s", join(dir, "pmtr.sock"), "status"], { stdout: "ignore", stderr: "ignore" });
      statusCodes.push(await client.exited);
    }
    expect(statusCodes.filter((c) => c !== 3 && c !== 4)).toEqual([]);
    expect(isAlive(p.pid)).toBe(true);
    expect(p.stderr.match(/.*internal error.*/)?.[0] ?? null).toBe(null);

    expect(await p.stop(20_000)).toBe(0);
    expect(leftovers(allStartedPids(p.stderr), TAG)).toEqual([]);
    // Also what pmtr never logged: a run whose start Bun reported as failed after its fork would
    // be in no log, and its `sleep` child carries no marker in argv, only in its environment.
    let stray: string[] = [];
    await waitFor("no process of any run left", () => (stray = withEnvMarker(`PMTR_REL_TAG=${TAG}`)).length === 0, 2_000).catch(() => undefined);
    expect(stray).toEqual([]);
    report("fd-exhaustion", {
      jobs: JOBS, nofile: NOFILE, running: running.length, refusedStarts: refusals.length, pmtrFds: fds,
      helperStatusUnreadable: p.count(/cannot read its status/), statusExits: statusCodes.join(","), leftovers: 0,
    });
  } catch (e) {
    explain(e, "fd-exhaustion", p.stderr);
    throw e;
  } finally {
    await cleanupPmtr(p);
    // A run pmtr lost track of would not be in its log: find it by its marker.
    for (let i = 0; i < JOBS; i++) for (const pid of runsOf(i)) process.kill(-pid, "SIGKILL");
    // ... and any process of a run that no log names, found by the marker in its environment.
    for (const line of withEnvMarker(`PMTR_REL_TAG=${TAG}`)) {
      try {
        process.kill(Number(line.split(" ")[0]), "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
}, 90_000);
