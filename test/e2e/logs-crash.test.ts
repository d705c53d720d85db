// SPEC §13 when pmtr dies: a job whose output goes through pmtr (rotate) loses the reader of
// its pipe and gets SIGPIPE at its next write; a job with a direct file keeps running and
// writing. The next pmtr on the same socket stops what is left, starts both again, and the
// rotated job's lines go on in the same file (README "Job output and logs").

import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { FIXTURES, Pmtr, cleanupPmtr, isAlive, join, readOr, rmSync, startedPids, tempDir, waitFor, writeConfig } from "../helpers.ts";

const TICKER = join(FIXTURES, "logs/ticker.sh");

test("SIGKILL of pmtr: the rotated job ends on SIGPIPE, the direct one runs on; the next pmtr restarts both", async () => {
  const dir = tempDir("pmtr-logs-crash-");
  const sock = join(dir, "pmtr.sock");
  const conf = writeConfig(dir, `
job {
  name rotated
  cmd ${TICKER}
  dir ${dir}
  out rotated.log
  rotate 10M
}
job {
  name direct
  cmd ${TICKER}
  dir ${dir}
  out direct.log
}
`);
  const first = new Pmtr(["-F", "-c", conf, "-s", sock]);
  let second: Pmtr | null = null;
  try {
    await first.waitLog("started job direct");
    const [rotatedPid] = startedPids(first.stderr, "rotated");
    const [directPid] = startedPids(first.stderr, "direct");
    await waitFor("the job record with both", () => existsSync(join(dir, "pmtr.jobs")) && readFileSync(join(dir, "pmtr.jobs"), "utf8").includes(`"pid":${directPid}`));
    await waitFor("lines in both files", () => readOr(join(dir, "rotated.log")).includes("tick 3\n") && readOr(join(dir, "direct.log")).includes("tick 3\n"));
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    await waitFor("the rotated job gone (SIGPIPE at its next write)", () => !isAlive(rotatedPid!));
    const directLines = readOr(join(dir, "direct.log")).length;
    await waitFor("the direct job writing on", () => readOr(join(dir, "direct.log")).length > directLines + 20);
    expect(isAlive(directPid!)).toBe(true);

    second = new Pmtr(["-F", "-c", conf, "-s", sock]);
    await second.waitLog(/started job rotated \[\d+\]/, 20_000);
    await second.waitLog(/started job direct \[\d+\]/, 20_000);
    await waitFor("the old direct job stopped", () => !isAlive(directPid!), 20_000);
    // The new run's ticks start again at 1, in the same file, after the old run's last whole line.
    await waitFor("the new run's ticks in rotated.log", () => readOr(join(dir, "rotated.log")).split("\n").filter((l) => l === "tick 3").length === 2, 20_000);
    expect(readOr(join(dir, "rotated.log")).split("\n").filter(Boolean).every((l) => /^tick \d+$/.test(l))).toBe(true);
  } finally {
    await cleanupPmtr(first);
    if (second) await cleanupPmtr(second);
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
