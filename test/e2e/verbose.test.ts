// -v (README: options): debug messages — each control request, a save of the file that
// changed nothing, a process reaped that a job left behind — and none of them without -v.

import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join, readOr, rmSync, runPmtr, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

// The job leaves a child behind: its shell starts a sleep in the background and execs another.
// When the test kills the job's own process, the first sleep is orphaned to pmtr (a subreaper),
// which stops what is left of the job's group and reaps it.
const config = (dir: string) =>
  `job {\n  name leaver\n  cmd /bin/sh -c "/bin/sleep 600 & echo $! > ${dir}/orphan.pid; exec /bin/sleep 601"\n}\n`;

for (const verbose of [true, false]) {
  test.concurrent(`${verbose ? "-v logs" : "without -v, no"} control requests, unchanged saves and reaped leftovers`, async () => {
    const dir = tempDir("pmtr-verbose-");
    const conf = writeConfig(dir, config(dir));
    const sock = join(dir, "pmtr.sock");
    let orphan = 0;
    try {
      await withPmtr(["-F", ...(verbose ? ["-v"] : []), "-c", conf, "-s", sock], {}, async (p) => {
        const job = Number((await p.waitLog(/: started job leaver \[\d+\]$/m)).match(/: started job leaver \[(\d+)\]$/m)![1]);
        expect((await runPmtr(["-s", sock, "status", "leaver"])).code).toBe(0);
        writeFileSync(conf, readFileSync(conf)); // saved again, same content
        orphan = await waitFor("the leftover's pid", () => Number(readOr(join(dir, "orphan.pid")).trim()) || null);
        process.kill(job, "SIGKILL");
        if (verbose) {
          await p.waitLog("control socket: status request for leaver");
          await p.waitLog(`${conf} was written but its content is unchanged: nothing to apply`);
          await p.waitLog(`reaped process ${orphan}, left behind by a job`);
        } else {
          // The same events, seen to be handled: the file's save by a later real change, the
          // reap by the process being gone from pmtr's children.
          await waitFor("the leftover reaped", () => !readOr(`/proc/${orphan}/stat`));
          writeFileSync(conf, config(dir).replace("leaver", "leaver2"));
          await p.waitLog("started job leaver2");
          expect(p.stderr).not.toContain("control socket:");
          expect(p.stderr).not.toContain("content is unchanged");
          expect(p.stderr).not.toContain("reaped process");
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
}
