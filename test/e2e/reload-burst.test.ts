// Live reload, end to end (issue 4): a burst of saves, as a tool saving 100 times in a second
// makes, converges to the last content of the file: exactly its jobs run, each exactly once,
// and a job that no save changed was never restarted.

import { afterAll, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import {
  cmdlineOf, FIXTURES, isAlive, join, pidsWithArg, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig,
} from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const TAG = `reload-burst-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;
const SAVES = 100;
const TOGGLED = ["j0", "j1", "j2", "j3", "j4", "j5"];

const dir = tempDir("pmtr-reload-burst-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sleeper(name: string, word: string): string {
  return `job {\n  name ${name}\n  cmd ${SLEEPER} ${marker(name)} ${word}\n}\n`;
}
/** Save i (-1 for the first file): `stable` always the same, j<k> present when (i + k) % 3 is
 *  not 0, `vary` with an argument naming the save. */
function present(i: number): string[] {
  return TOGGLED.filter((_, k) => i < 0 || (i + k) % 3 !== 0);
}
function version(i: number): string {
  return sleeper("stable", "v1") + present(i).map((name) => sleeper(name, "v1")).join("") + sleeper("vary", `gen-${i}`);
}

/** The jobs' processes now, by marker; null unless they are exactly those of save `i`, one each,
 *  each the process pmtr last logged as started for that job. */
function exactly(log: string, i: number): Record<string, number> | null {
  const expected = ["stable", ...present(i), "vary"];
  const pids: Record<string, number> = {};
  for (const name of ["stable", ...TOGGLED, "vary"]) {
    const procs = pidsWithArg(marker(name));
    if (!expected.includes(name)) {
      if (procs.length !== 0) return null;
      continue;
    }
    if (procs.length !== 1 || startedPids(log, name).at(-1) !== procs[0]) return null;
    pids[name] = procs[0]!;
  }
  return cmdlineOf(pids.vary!).includes(`gen-${i}`) ? pids : null;
}

test("100 saves within about a second, in place and by rename, converge to the last one", async () => {
  const conf = writeConfig(dir, version(-1));
  await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
    const first = await waitFor("the first file's jobs", () => exactly(p.stderr, -1));

    for (let i = 0; i < SAVES; i++) {
      if (i % 2 === 0) {
        writeFileSync(conf, version(i));
      } else {
        const tmp = writeConfig(dir, version(i), `.save-${i}.tmp`);
        renameSync(tmp, conf);
      }
      await Bun.sleep(8);
    }
    const last = SAVES - 1;
    const final = await waitFor(`exactly the jobs of save ${last}`, () => exactly(p.stderr, last), 10_000);

    const started = p.count(/started job /);
    await Bun.sleep(1000); // settle: a late start or stop from the burst would show by now
    expect(exactly(p.stderr, last)).toEqual(final);
    expect(p.count(/started job /)).toBe(started);
    // Never changed by any save: the same process from the start.
    expect(final.stable).toBe(first.stable!);
    expect(startedPids(p.stderr, "stable")).toEqual([first.stable!]);
    expect(isAlive(first.stable!)).toBe(true);
    expect(p.stderr).not.toMatch(/job stable \[\d+\] exited/);
  });
}, 20_000);
