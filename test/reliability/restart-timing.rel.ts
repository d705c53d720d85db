// Many jobs started at once, each running just over 10 s: every one must count as having run
// 10 s and be restarted at once (SPEC §4). pmtr starts a batch of jobs in one go and used to
// time each run from when it saw the batch's starts resolve, so the first jobs of a batch of
// 300 looked 0.3 s younger than they were: "exited after 9 sec", and a 10 s delay they had not
// earned (found by the churn test under load).

import { afterAll, expect, test } from "bun:test";
import { cleanupPmtr, join, Pmtr, rmSync, tempDir, waitFor, writeConfig } from "../helpers.ts";
import { explain, report } from "./lib.ts";

const JOBS = 300;
const dir = tempDir("pmtr-rel-timing-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test(`${JOBS} jobs started together, each running 10.05 s: every exit counts as 10 s and restarts at once`, async () => {
  const conf = writeConfig(dir, Array.from({ length: JOBS }, (_, i) => `job {\n  name j${i}\n  cmd /bin/sleep 10.05\n}\n`).join(""));
  const p = new Pmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")]);
  try {
    await p.waitLog(`pmtr: managing ${JOBS} jobs`, 15_000);
    await waitFor("every job's first exit", () => p.count(/: job j\d+ \[\d+\] exited after /) >= JOBS, 30_000);
    await waitFor("every job restarted", () => p.count(/: started job /) >= 2 * JOBS, 10_000);
    const exits = p.stderr.split("\n").filter((l) => / exited after /.test(l));
    expect(exits.filter((l) => !/ exited after 10 sec: exit status 0$/.test(l))).toEqual([]);
    expect(p.stderr.split("\n").filter((l) => l.includes("restarting too fast"))).toEqual([]);
    report("restart-timing", { jobs: JOBS, exits: exits.length, delayed: 0 });
    expect(await p.stop(20_000)).toBe(0);
  } catch (e) {
    explain(e, "restart-timing", p.stderr);
    throw e;
  } finally {
    await cleanupPmtr(p);
  }
}, 60_000);
