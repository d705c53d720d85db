// Reload fuzzing and reload storms (issue 7), against a running dist/pmtr.
//
// Fuzzing: the file is always the same protected jobs followed by a mutated region; each save
// is checked in-process first, so the test knows whether pmtr must apply it or reject it with
// `keeping the previous configuration`. Either way the protected jobs keep their processes.
//
// Storm: 100 saves within about a second, in place and by rename, one in seven invalid, while
// the processes of every job are counted from /proc every few milliseconds: no job ever runs
// twice, and pmtr converges to the last file, each job once.

import { afterAll, expect, test } from "bun:test";
import { readdirSync, renameSync, writeFileSync } from "node:fs";
import { readConfigFile } from "../../src/os/config/config-file.ts";
import {
  cleanupPmtr, cmdlineOf, FIXTURES, isAlive, join, Pmtr, pidsWithArg, procStat, rmSync, startedPids, tempDir, waitFor, writeConfig,
} from "../helpers.ts";
import { allStartedPids, explain, leftovers, LONG, mutate, Rand, report, SEED, SEED_FILES } from "./lib.ts";

/** The only element of `list`, else undefined (for waitFor). */
const oneOf = <T>(list: readonly T[]): T | undefined => (list.length === 1 ? list[0] : undefined);

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const SLOW_STOP = join(FIXTURES, "reload/slow-stop.sh");
const TAG = `pmtr-rel-reload-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;
const enforceOwnership = process.getuid?.() === 0;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function job(name: string, cmd: string, extra = ""): string {
  return `job {\n  name ${name}\n  cmd ${cmd}\n${extra}}\n`;
}

/** Saves `text` as `conf`: in place, or by rename as editors do. */
function save(conf: string, text: string | Uint8Array, byRename: boolean, i: number): void {
  if (byRename) {
    const tmp = `${conf}.${i}.tmp`;
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, conf);
  } else writeFileSync(conf, text, { mode: 0o644 });
}

/** The seed files made harmless to run: every program is /bin/true, every path under `dir`, and
 *  `listen on` a port of our own. What a mutation makes of them may run as root, so it must
 *  start from nothing that does anything. */
function harmless(dir: string, port: number): Uint8Array[] {
  return SEED_FILES.map((f) =>
    new TextEncoder().encode(
      new TextDecoder()
        .decode(f.bytes)
        .replace(/^(\s*cmd\s+)\S+.*$/gm, "$1/bin/true fuzz")
        .replace(/\/tmp\/[\w./-]*/g, `${dir}/x`)
        .replace(/udp:\/\/127\.0\.0\.1:10000/g, `udp://127.0.0.1:${port}`),
    ),
  );
}

test(`reload fuzzing: mutated files saved into a running pmtr never disturb its valid jobs`, async () => {
  const SAVES = LONG ? 2000 : 150;
  const dir = tempDir("pmtr-rel-reload-fuzz-");
  dirs.push(dir);
  const protectedJobs = ["p-plain", "p-rich", "p-slow"];
  const head =
    job("p-plain", `${SLEEPER} ${marker("p-plain")}`) +
    job("p-rich", `${SLEEPER} ${marker("p-rich")} "two words"`, `  dir ${dir}\n  out p-rich.out\n  env A=B\n  nice 3\n  ulimit -n 512\n`) +
    job("p-slow", `${SLOW_STOP} ${marker("p-slow")}`);
  const sources = harmless(dir, 30000 + (process.pid % 20000));
  const conf = writeConfig(dir, head);
  const check = join(dir, "check.conf");
  const r = new Rand(SEED);

  const p = new Pmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")]);
  let recipe = "";
  try {
    const pids = Object.fromEntries(
      await Promise.all(protectedJobs.map(async (name) => [name, await waitFor(`${name} running`, () => oneOf(pidsWithArg(marker(name))))] as const)),
    );
    /** What pmtr said about the last save it read: null before any, else whether it kept the
     *  previous configuration. All lines of one rescan are logged together. */
    const lastVerdict = (): "applied" | "rejected" | null => {
      const at = p.stderr.lastIndexOf(": rescanning job configuration\n");
      if (at < 0) return null;
      return p.stderr.slice(at).includes(": keeping the previous configuration\n") ? "rejected" : "applied";
    };
    let last = new TextEncoder().encode(head);
    let applied = 0;
    let rejected = 0;
    const headBytes = new TextEncoder().encode(head);
    for (let i = 0; i < SAVES; i++) {
      const m = mutate(r, r.pick(sources), sources);
      const full = new Uint8Array(headBytes.length + m.bytes.length);
      full.set(headBytes);
      full.set(m.bytes, headBytes.length);
      if (Buffer.from(full).equals(Buffer.from(last))) continue; // the same content: no rescan
      recipe = `seed ${SEED} save ${i}:${m.recipe}`;
      writeFileSync(check, full, { mode: 0o644 });
      const valid = readConfigFile(check, { enforceOwnership }).ok;
      const rescans = p.count(/: rescanning job configuration$/);
      save(conf, full, i % 2 === 1, i);
      last = full;
      await waitFor(`pmtr to rescan (${recipe})`, () => p.count(/: rescanning job configuration$/) > rescans, 10_000);
      if (valid) applied++;
      else rejected++;
      // A rejected save logs its verdict with the rescan line; give an applied one a moment to
      // show that it was not rejected after all.
      if (valid) await Bun.sleep(20);
      await waitFor(`pmtr's verdict on the save to be ${valid ? "applied" : "rejected"} (${recipe})`, () => lastVerdict() === (valid ? "applied" : "rejected"), 10_000);
      for (const name of protectedJobs) {
        const now = pidsWithArg(marker(name));
        if (now.length !== 1 || now[0] !== pids[name]) throw new Error(`${recipe}: job ${name} disturbed: ${pids[name]} -> ${now.join(",") || "none"}`);
      }
    }
    expect(p.count(/: keeping the previous configuration$/)).toBe(rejected);
    for (const name of protectedJobs) {
      expect(startedPids(p.stderr, name)).toEqual([pids[name]!]);
      expect(p.stderr.match(new RegExp(`job ${name} \\[\\d+\\] exited.*|sending SIGTERM to job ${name} .*`))?.[0] ?? null).toBe(null);
    }
    expect(p.stderr.match(/.*internal error.*/)?.[0] ?? null).toBe(null);
    expect(isAlive(p.pid)).toBe(true);
    report("reload-fuzz", { seed: SEED, saves: applied + rejected, applied, rejected, protectedJobsDisturbed: 0 });
    expect(applied).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);

    expect(await p.stop(25_000)).toBe(0);
    expect(leftovers(allStartedPids(p.stderr), TAG)).toEqual([]);
  } catch (e) {
    if (e instanceof Error) e.message += `\n(${recipe})`;
    explain(e, "reload-fuzz", p.stderr);
    throw e;
  } finally {
    await cleanupPmtr(p);
  }
}, LONG ? 1_800_000 : 90_000);

test("reload storm: 100 saves in about a second, in place and by rename, some invalid: no job ever runs twice, the last file wins", async () => {
  const STORMS = LONG ? 10 : 2;
  const SAVES = 100;
  const dir = tempDir("pmtr-rel-storm-");
  dirs.push(dir);
  const conf = join(dir, "pmtr.conf");
  const toggled = Array.from({ length: 12 }, (_, k) => `t${k}`);
  /** Save i: `stable` and `stable-slow` always the same, t<k> present when (i + k) % 3 is not 0
   *  (half of them slow to stop), `vary` naming the save. Invalid saves break the file's end. */
  const present = (i: number) => toggled.filter((_, k) => (i + k) % 3 !== 0);
  const version = (i: number) =>
    job("stable", `${SLEEPER} ${marker("stable")}`) +
    job("stable-slow", `${SLOW_STOP} ${marker("stable-slow")}`) +
    present(i).map((name) => job(name, `${Number(name.slice(1)) % 2 ? SLOW_STOP : SLEEPER} ${marker(name)}`)).join("") +
    job("vary", `${SLEEPER} ${marker("vary")} gen-${i}`);
  const invalid = (i: number) => version(i) + ["bogus\n", "job {\n  name x\n", "job {\n  name stable\n  cmd /bin/true\n}\n", 'job {\n  name y\n  cmd /bin/true "open\n}\n'][i % 4];
  const all = ["stable", "stable-slow", ...toggled, "vary"];

  /** Processes per job now; the most seen for one job at any sample goes into `maxSeen`. */
  const maxSeen: Record<string, number> = {};
  let samples = 0;
  const overlaps: string[] = [];
  const sample = () => {
    samples++;
    // One pass over /proc for all jobs (a pass per job slowed the storm itself down). Only group
    // leaders count: each run of a job leads its own group, and the job's shell forking `sleep`
    // shows the same argv for a moment before the exec.
    const found = new Map<string, number[]>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      const word = cmdlineOf(pid).find((a) => a.startsWith(`${TAG}-`));
      if (word === undefined || procStat(pid)?.pgrp !== pid) continue;
      const name = word.slice(TAG.length + 1);
      found.set(name, [...(found.get(name) ?? []), pid]);
    }
    for (const name of all) {
      // A pass over /proc is not an instant: a process seen early in it may have exited (and
      // its successor started) before the pass reached the successor. Two processes found are
      // proof only if both are still alive on a second look after the pass.
      let pids = found.get(name) ?? [];
      if (pids.length > 1) pids = pids.filter(isAlive);
      maxSeen[name] = Math.max(maxSeen[name] ?? 0, pids.length);
      if (pids.length > 1 && overlaps.length < 5) overlaps.push(`${name}: ${pids.map((pid) => `${pid} ${cmdlineOf(pid).join(" ")}`).join(" | ")}`);
    }
  };
  /** The jobs of save i exactly, each once, each the process pmtr last logged for it and not
   *  being stopped (a job put back while its old process stops shows that process until then). */
  const exactly = (log: string, i: number): Record<string, number> | null => {
    const expected = ["stable", "stable-slow", ...present(i), "vary"];
    const pids: Record<string, number> = {};
    for (const name of all) {
      const procs = pidsWithArg(marker(name));
      if (!expected.includes(name)) {
        if (procs.length !== 0) return null;
        continue;
      }
      if (procs.length !== 1 || startedPids(log, name).at(-1) !== procs[0]) return null;
      if (log.includes(`: sending SIGTERM to job ${name} [${procs[0]}]\n`)) return null;
      pids[name] = procs[0]!;
    }
    return cmdlineOf(pids.vary!).includes(`gen-${i}`) ? pids : null;
  };

  writeFileSync(conf, version(-1), { mode: 0o644 });
  const p = new Pmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")]);
  try {
    const first = await waitFor("the first file's jobs", () => exactly(p.stderr, -1), 10_000);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        sample();
        await Bun.sleep(2);
      }
    })();
    let invalidSaves = 0;
    let waitedRejections = 0;
    let stormMs = 0;
    for (let storm = 0; storm < STORMS; storm++) {
      const t0 = performance.now();
      for (let i = 0; i < SAVES; i++) {
        const bad = i % 7 === 3 && i !== SAVES - 1;
        if (bad) invalidSaves++;
        save(conf, bad ? invalid(i) : version(i), i % 2 === 1, i);
        if (bad && i % 28 === 3) {
          // Most saves of a storm are coalesced unread; a few invalid ones are waited on until
          // pmtr has read and rejected them, so every storm also exercises the rejection.
          const kept = p.count(/: keeping the previous configuration$/);
          await waitFor(`save ${i} rejected`, () => p.count(/: keeping the previous configuration$/) > kept, 5_000);
          waitedRejections++;
        }
        await Bun.sleep(9);
      }
      stormMs = Math.max(stormMs, performance.now() - t0);
      // Each storm ends on save 99; the next starts from save 0 again, so every storm moves jobs.
      await waitFor(`storm ${storm}: exactly the jobs of the last save`, () => exactly(p.stderr, SAVES - 1), 20_000);
    }
    const final = exactly(p.stderr, SAVES - 1)!;
    const startsBefore = p.count(/: started job /);
    await Bun.sleep(1500); // a late start or stop from the storm would show by now (slow stops take 1 s)
    sampling = false;
    await sampler;

    expect(exactly(p.stderr, SAVES - 1)).toEqual(final);
    expect(p.count(/: started job /)).toBe(startsBefore);
    // No job ever ran as two processes at once, at any of the samples.
    expect(overlaps).toEqual([]);
    expect(Object.entries(maxSeen).filter(([, n]) => n > 1)).toEqual([]);
    // Never changed by a valid save: the same process throughout.
    expect(startedPids(p.stderr, "stable")).toEqual([first.stable!]);
    expect(startedPids(p.stderr, "stable-slow")).toEqual([first["stable-slow"]!]);
    expect(final.stable).toBe(first.stable!);
    expect(p.stderr.match(/.*internal error.*/)?.[0] ?? null).toBe(null);
    const rejected = p.count(/: keeping the previous configuration$/);
    expect(rejected).toBeLessThanOrEqual(invalidSaves);
    expect(rejected).toBeGreaterThanOrEqual(waitedRejections);
    report("reload-storm", {
      storms: STORMS, savesPerStorm: SAVES, longestStormMs: stormMs.toFixed(0), invalidSaves, rejectedSeen: rejected,
      rescans: p.count(/: rescanning job configuration$/), starts: p.count(/: started job /), samples, maxProcessesPerJob: Math.max(...Object.values(maxSeen)),
    });

    expect(await p.stop(25_000)).toBe(0);
    expect(leftovers(allStartedPids(p.stderr), TAG)).toEqual([]);
  } catch (e) {
    explain(e, "reload-storm", p.stderr);
    throw e;
  } finally {
    await cleanupPmtr(p);
  }
}, LONG ? 600_000 : 90_000);
