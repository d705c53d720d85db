// Fault 3 of issue 12: pmtr.conf rewritten in place by a slow writer (`generate > pmtr.conf`
// with a pause between the truncate and the rest) must be applied once, whole, when the
// writer closes the file, never empty or half-written in between. Two jobs: `keep`, which the
// final content does not change and which must keep its pid, and `a`, whose argument it does.

import { afterEach, describe, expect, test } from "bun:test";
import {
  FIXTURES, isAlive, join, jobRunning, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig,
} from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const TAG = `reload-slow-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;
const job = (name: string, word: string) => `job {\n  name ${name}\n  cmd ${SLEEPER} ${marker(name)} ${word}\n}\n`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Truncates `path` and writes `first`, sleeps `pauseSec`, writes `rest`, closes: as a shell
 *  script redirected into the file does. Resolves when the writer has exited. */
async function slowWrite(path: string, first: string, pauseSec: string, rest: string): Promise<void> {
  const proc = Bun.spawn(["/bin/sh", "-c", 'exec > "$1"; printf %s "$2"; sleep "$3"; printf %s "$4"', "sh", path, first, pauseSec, rest], {
    stdout: "ignore", stderr: "pipe",
  });
  if ((await proc.exited) !== 0) throw new Error(`slow writer failed: ${await new Response(proc.stderr).text()}`);
}

describe("a slow in-place write is applied once, when the writer closes the file", () => {
  for (const pauseSec of ["0.02", "0.2", "2"]) {
    test(`writer pausing ${pauseSec} s after the first job block`, async () => {
      const dir = tempDir("pmtr-slow-write-");
      dirs.push(dir);
      const conf = writeConfig(dir, job("keep", "v1") + job("a", "v1"));
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        const keep = await jobRunning(p, "keep", marker("keep"));
        const a = await jobRunning(p, "a", marker("a"), ["v1"]);
        // The part before the pause alone is a valid file without job a (and the truncated
        // file before it an empty one): applying either would stop jobs.
        await slowWrite(conf, job("keep", "v1"), pauseSec, job("a", "v2"));
        const a2 = await jobRunning(p, "a", marker("a"), ["v2"], 10_000);
        await waitFor("job a's old process to be gone", () => !isAlive(a));
        expect(startedPids(p.stderr, "keep")).toEqual([keep]);
        expect(startedPids(p.stderr, "a")).toEqual([a, a2]);
        expect(p.stderr).not.toContain("stopping job");
        expect(p.count(/rescanning job configuration/)).toBe(1);
        expect(isAlive(keep)).toBe(true);
      });
    }, 30_000);
  }
});
