// SPEC §11 "Signals" end to end: a running dist/pmtr gets each signal that used to end it
// (`kill -USR1 <pmtr>` in a logrotate postrotate line killed pmtr and orphaned every job) and
// keeps running, its job untouched; SIGUSR1 says it reopens its log files; the jobs it starts
// afterwards still get default dispositions (SPEC §3), although pmtr ignores some signals.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { isAlive, join, Pmtr, readOr, rmSync, runPmtr, tempDir, waitFor, writeConfig } from "../helpers.ts";

const dir = tempDir("pmtr-signals-");
const sock = join(dir, "pmtr.sock");
let pmtr: Pmtr;
let jobPid: number;

const CONFIG = `
job {
  name sleeper
  cmd /bin/sleep 600
}
job {
  name nicer
  cmd /bin/sleep 601
  nice 1
}
`;

async function sleeperPid(): Promise<number | null> {
  const { stdout } = await runPmtr(["-s", sock, "status", "--json", "sleeper"]);
  return JSON.parse(stdout).jobs[0].pid;
}

/** The /proc/PID/status mask line `field` as a bigint. */
function mask(pid: number, field: string): bigint {
  const hex = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(readOr(`/proc/${pid}/status`))?.[1];
  if (hex === undefined) throw new Error(`no ${field} for ${pid}`);
  return BigInt(`0x${hex}`);
}

const bit = (sig: number) => 1n << BigInt(sig - 1);

beforeAll(async () => {
  const conf = writeConfig(dir, CONFIG);
  pmtr = new Pmtr(["-F", "-c", conf, "-s", sock]);
  jobPid = await waitFor("the job to run", () => sleeperPid(), 10_000);
});

afterAll(async () => {
  await pmtr?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.each(["SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGXCPU"])("%s is logged and ignored; the job is untouched", async (signal) => {
  const before = pmtr.count(new RegExp(`: ignoring signal ${signal}$`));
  process.kill(pmtr.pid, signal);
  await waitFor(`"ignoring signal ${signal}"`, () => pmtr.count(new RegExp(`: ignoring signal ${signal}$`)) > before);
  expect(isAlive(pmtr.pid)).toBe(true);
  expect(await sleeperPid()).toBe(jobPid);
  expect(isAlive(jobPid)).toBe(true);
});

test("SIGUSR1 reopens the log files and does nothing else", async () => {
  const before = pmtr.count(/: reopening log files$/);
  process.kill(pmtr.pid, "SIGUSR1");
  await waitFor('"reopening log files"', () => pmtr.count(/: reopening log files$/) > before);
  expect(await sleeperPid()).toBe(jobPid);
  expect(pmtr.stderr).not.toContain("exiting on signal");
});

test("SIGSTKFLT and every real-time signal (34..64) are ignored, silently", async () => {
  const ignored = mask(pmtr.pid, "SigIgn");
  for (const sig of [16, ...Array.from({ length: 31 }, (_, i) => 34 + i)]) {
    expect({ sig, ignored: (ignored & bit(sig)) !== 0n }).toEqual({ sig, ignored: true });
    process.kill(pmtr.pid, sig);
    // A default disposition would end pmtr the moment the kernel delivers the signal, before the
    // answer below could be given.
    expect(await sleeperPid()).toBe(jobPid);
    expect(isAlive(pmtr.pid)).toBe(true);
  }
  expect(isAlive(jobPid)).toBe(true);
});

test("jobs still start with default dispositions and an empty signal mask (both spawn paths)", async () => {
  // `nice` makes the start go through the set-up path, sleeper is spawned directly.
  const restart = await runPmtr(["-s", sock, "restart", "sleeper", "nicer"], { timeoutMs: 30_000 });
  expect(restart.code).toBe(0);
  const pids = Array.from(restart.stdout.matchAll(/\[(\d+)\]/g), (m) => Number(m[1]));
  expect(pids.length).toBe(2);
  for (const pid of pids) {
    expect(isAlive(pid)).toBe(true);
    expect({ pid, ignored: mask(pid, "SigIgn"), blocked: mask(pid, "SigBlk") }).toEqual({ pid, ignored: 0n, blocked: 0n });
  }
  jobPid = pids[0]!;
});

test("SIGPWR is left to the runtime and pmtr survives it; SIGTERM still ends it", async () => {
  process.kill(pmtr.pid, 30); // SIGPWR: Bun's process.kill does not know the name
  expect(await sleeperPid()).toBe(jobPid);
  expect(await pmtr.stop()).toBe(0);
  expect(pmtr.stderr).toContain("pmtr: exiting on signal 15");
  expect(isAlive(jobPid)).toBe(false);
});
