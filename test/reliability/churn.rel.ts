// Churn (issue 7): 200 jobs exiting and restarting continuously, while pmtr's memory (VmRSS),
// open fds and zombies are sampled every second. Every exit must be logged, each run once.
//
// How the churn is made: a job that ran less than 10 s is restarted only 10 s after its exit
// (SPEC §4), so jobs that exit at once would churn at 1/10 s each and mostly sit in the delay.
// Instead each job runs 10.5-12.5 s and exits 0 (spread, so exits are continuous, not bursts)
// and is restarted at once: the real exit -> log -> restart path, ~18 exits/s. On top of that
// a driver asks the control socket (`pmtr -s SOCK restart` with 5 random jobs, twice a
// second) to restart running jobs: the stop path (SIGTERM to the group, exit, start at once)
// at ~10 more exits/s. Neither path involves the anti-spin delay, so no exit is left waiting.

import { afterAll, expect, test } from "bun:test";
import { join, Pmtr, PMTR, procStat, readOr, rmSync, startedPids, tempDir, waitFor, writeConfig, cleanupPmtr } from "../helpers.ts";
import { allStartedPids, explain, footprint, leftovers, LONG, processTable, Rand, report, SEED } from "./lib.ts";

const JOBS = 200;
const CHURN_MS = LONG ? 5 * 60_000 : 40_000;
/** Before this, pmtr is still warming up (JIT, first exits); samples from then on are compared. */
const WARMUP_MS = LONG ? 30_000 : 14_000;
const TAG = `pmtr-rel-churn-${process.pid}-${Date.now().toString(36)}`;

const dir = tempDir("pmtr-rel-churn-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(): string {
  return Array.from({ length: JOBS }, (_, i) =>
    `job {\n  name j${i}\n  cmd /bin/sh -c "sleep $1" ${TAG}-j${i} ${(10.5 + (i % 200) * 0.01).toFixed(2)}\n}\n`).join("");
}

interface Sample {
  atMs: number;
  rssKb: number;
  fds: number;
  zombies: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (kb: number) => (kb / 1024).toFixed(1);

test(`churn: ${JOBS} jobs exiting and restarting for ${CHURN_MS / 1000} s: memory and fds flat, every exit logged, no zombies`, async () => {
  const sock = join(dir, "pmtr.sock");
  const conf = writeConfig(dir, config());
  const p = new Pmtr(["-F", "-c", conf, "-s", sock]);
  const r = new Rand(SEED);
  try {
    await p.waitLog(`pmtr: managing ${JOBS} jobs`, 15_000);
    await waitFor("every job started", () => p.count(/: started job /) >= JOBS, 15_000);
    const t0 = performance.now();

    // The control-socket driver.
    let driving = true;
    let restartCommands = 0;
    const clientFailures: string[] = [];
    const driver = (async () => {
      while (driving) {
        const names = Array.from({ length: 5 }, () => `j${r.int(JOBS)}`);
        const client = Bun.spawn([PMTR, "-s", sock, "restart", ...new Set(names)], { stdout: "pipe", stderr: "pipe" });
        const [out, err, code] = await Promise.all([new Response(client.stdout).text(), new Response(client.stderr).text(), client.exited]);
        restartCommands++;
        if (code !== 0 && clientFailures.length < 5) clientFailures.push(`exit ${code}: ${out}${err}`);
        await Bun.sleep(500);
      }
    })();

    // The sampler: pmtr's footprint and its zombie children, once a second.
    const samples: Sample[] = [];
    const pmtrPid = p.pid;
    while (performance.now() - t0 < CHURN_MS) {
      const { rssKb, fds } = footprint(pmtrPid);
      const zombies = processTable().filter((x) => x.state === "Z" && procStat(x.pid)?.ppid === pmtrPid).map((x) => x.pid);
      samples.push({ atMs: performance.now() - t0, rssKb, fds, zombies });
      await Bun.sleep(1000);
    }
    driving = false;
    await driver;

    const exitsSeen = p.count(/: job j\d+ \[\d+\] exited after /);
    const naturalExits = p.count(/: job j\d+ \[\d+\] exited after \d+ sec: exit status 0$/);
    const cpu = readOr(`/proc/${pmtrPid}/stat`).slice(readOr(`/proc/${pmtrPid}/stat`).lastIndexOf(")") + 2).split(" ");
    const cpuSec = (Number(cpu[11]) + Number(cpu[12])) / 100;

    // Shut down: every job stopped, pmtr exits 0, nothing left.
    expect(await p.stop(30_000)).toBe(0);
    const started = allStartedPids(p.stderr);
    // The sessions of each job's last run (older pids may belong to others by now), and the tag.
    const lastRuns = Array.from({ length: JOBS }, (_, i) => startedPids(p.stderr, `j${i}`).at(-1) ?? 0);
    expect(leftovers(lastRuns, TAG)).toEqual([]);

    // Every run's exit logged, exactly once, after its start. Runs are told apart by job and
    // pid in log order: over minutes pids wrap around and come back for other runs.
    const open = new Set<string>();
    const unmatched: string[] = [];
    let runs = 0;
    for (const m of p.stderr.matchAll(/: (?:started job (j\d+) \[(\d+)\]|job (j\d+) \[(\d+)\] exited after \d+ sec: .*)$/gm)) {
      if (m[1] !== undefined) {
        runs++;
        if (open.has(`${m[1]} ${m[2]}`)) unmatched.push(`started twice without an exit: ${m[0]}`);
        open.add(`${m[1]} ${m[2]}`);
      } else if (!open.delete(`${m[3]} ${m[4]}`)) unmatched.push(`exit of no run: ${m[0]}`);
    }
    expect(unmatched).toEqual([]);
    expect([...open]).toEqual([]);
    expect(runs).toBe(started.length);
    // No natural exit came early (it would be delayed), no start failed.
    expect(p.stderr.split("\n").filter((l) => /restarting too fast|failed to start|internal error/.test(l))).toEqual([]);
    expect(clientFailures).toEqual([]);

    // No zombie outlived a sample interval: reaped within a second of appearing.
    const lingering = samples.slice(1).flatMap((s, i) => s.zombies.filter((z) => samples[i]!.zombies.includes(z)));
    expect(lingering).toEqual([]);

    // Flat: after warm-up, the last third of the run against the first third.
    const steady = samples.filter((s) => s.atMs >= WARMUP_MS);
    const third = Math.max(1, Math.floor(steady.length / 3));
    const early = steady.slice(0, third);
    const late = steady.slice(-third);
    const rssEarly = median(early.map((s) => s.rssKb));
    const rssLate = median(late.map((s) => s.rssKb));
    const fdsEarlyMax = Math.max(...early.map((s) => s.fds));
    const fdsLateMax = Math.max(...late.map((s) => s.fds));
    report("churn", {
      jobs: JOBS, seconds: (CHURN_MS / 1000).toFixed(0), runs, exitsDuringChurn: exitsSeen, naturalExits,
      controlRestartCommands: restartCommands, pmtrCpuSec: cpuSec.toFixed(1),
      rssStartMiB: mib(samples[0]!.rssKb), rssEarlyMedianMiB: mib(rssEarly), rssLateMedianMiB: mib(rssLate), rssMaxMiB: mib(Math.max(...samples.map((s) => s.rssKb))),
      fdsStart: samples[0]!.fds, fdsEarlyMax, fdsLateMax, fdsMax: Math.max(...samples.map((s) => s.fds)),
      zombiesSeenMax: Math.max(...samples.map((s) => s.zombies.length)), zombiesLingering: lingering.length,
    });
    console.log(`reliability: churn samples ${samples.map((s) => `${(s.atMs / 1000).toFixed(0)}s:${mib(s.rssKb)}MiB/${s.fds}fd`).join(" ")}`);
    expect(naturalExits).toBeGreaterThan(JOBS);
    // fds: the same jobs run throughout, so the same number of fds, give or take those of
    // starts and control connections in flight.
    expect(fdsLateMax).toBeLessThanOrEqual(fdsEarlyMax + 16);
    // Memory: a collected heap wanders by a few MiB; a leak of 10 KiB per exit would add
    // ~10 MiB per 1000 exits (the short run has ~1500, the long one ~20 000).
    expect(rssLate).toBeLessThanOrEqual(rssEarly * 1.15 + 8 * 1024);
  } catch (e) {
    explain(e, "churn", p.stderr);
    throw e;
  } finally {
    await cleanupPmtr(p, { timeoutMs: 30_000 });
  }
}, CHURN_MS + 120_000);
