// The 30 s limit of `on exit` hooks (SPEC §14) on the real clock, which `make test` cannot
// afford (the runner's logic is unit-tested there on a fake clock, test/unit/os/hooks.test.ts):
// a hook that hangs, with a child of its own, is SIGKILLed with its whole group after 30 s, the
// exits that arrived meanwhile run as one coalesced hook, and the job never noticed.

import { afterAll, expect, test } from "bun:test";
import { cleanupPmtr, fileLines, groupAlive, join, Pmtr, rmSync, tempDir, waitFor, writeConfig } from "../helpers.ts";
import { explain, report } from "./lib.ts";

const dir = tempDir("pmtr-rel-hook-limit-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a hanging hook is killed with its group after 30 s; exits meanwhile are coalesced into the next run", async () => {
  const runs = join(dir, "runs");
  // The first run hangs (a child sleep and a wait); the runs after it return at once.
  const hook = `/bin/sh -c "echo run $PMTR_COALESCED $$ >> ${runs}; [ -e ${join(dir, "hung")} ] && exit 0; touch ${join(dir, "hung")}; sleep 600 & wait"`;
  const conf = writeConfig(dir, [
    "job {", "  name flappy", `  cmd /bin/sh -c "sleep 2; exit 1"`, "  backoff 1s..1s", `  on exit ${hook}`, "}",
  ].join("\n"));
  const p = new Pmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")]);
  try {
    await waitFor("the hook's first run", () => fileLines(runs).length === 1, 20_000);
    const hookPid = Number(fileLines(runs)[0]!.split(" ")[2]);
    const t0 = Date.now();
    const killedLine = await p.waitLog(/on exit hook of job flappy \[\d+\] still running after 30 sec, sending SIGKILL to its process group/, 45_000);
    const heldMs = Date.now() - t0;
    await p.waitLog(/on exit hook of job flappy \[\d+\] ended: killed by SIGKILL/, 5_000);
    // The hook's whole group is gone, its child sleep included.
    await waitFor("the hook's group to be gone", () => !groupAlive(hookPid), 5_000);
    const [, second] = await waitFor("the coalesced run", () => (fileLines(runs).length >= 2 ? fileLines(runs) : null), 10_000);
    const coalesced = Number(second!.split(" ")[1]);
    // flappy exits every ~3 s: about ten exits arrived while the hook hung; all but the last
    // are counted in the one run that follows.
    expect(coalesced).toBeGreaterThanOrEqual(3);
    // The job went on exiting and restarting throughout.
    const exits = p.count(/: job flappy \[\d+\] exited after /);
    expect(exits).toBeGreaterThanOrEqual(coalesced + 2);
    expect(killedLine).not.toContain("internal error");
    report("hook-limit", { heldMs, coalesced, exits });
    expect(await p.stop(20_000)).toBe(0);
  } catch (e) {
    explain(e, "hook-limit", p.stderr);
    throw e;
  } finally {
    await cleanupPmtr(p);
  }
}, 90_000);
