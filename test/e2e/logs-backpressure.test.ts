// SPEC §13 backpressure: a job writing as fast as it can into a rotated file on a small tmpfs
// that fills up. pmtr says so once, holds the job (its writes wait in the pipe) instead of
// buffering or dropping, keeps its memory bounded, and carries on when space comes back: the
// lines on disk are whole and consecutive, none lost or repeated around the stall.
// The tmpfs is mounted in a private mount namespace (unshare) that pmtr runs in; the test reads
// it through /proc/PID/root.

import { describe, expect, test } from "bun:test";
import { readdirSync, rmSync as rm } from "node:fs";
import { FIXTURES, join, readOr, rmSync, tempDir, waitFor, withPmtr, writeConfig, PMTR } from "../helpers.ts";

const NUMBERED = join(FIXTURES, "logs/numbered.sh");
const LINES = 3_000_000; // ~110 MB: far more than the 4 MB disk, and than pmtr's bound

/** Line numbers in order across F.5 ... F; throws on a line that is not whole or out of order. */
function consecutive(text: string): { first: number; last: number } {
  let first = 0;
  let prev = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = line.match(/^line (\d+) (x*)$/);
    if (!m || m[2]!.length !== Number(m[1]) % 50) throw new Error(`not a whole line: ${JSON.stringify(line.slice(0, 80))}`);
    const k = Number(m[1]);
    if (prev !== 0 && k !== prev + 1) throw new Error(`line ${prev} followed by line ${k}`);
    if (first === 0) first = k;
    prev = k;
  }
  return { first, last: prev };
}

describe("backpressure (SPEC §13)", () => {
  test("a full disk holds the job, bounds pmtr's memory, and loses no line; it resumes when space returns", async () => {
    const dir = tempDir("pmtr-logs-full-");
    const full = join(dir, "full");
    const conf = writeConfig(dir, `job {\n  name gen\n  cmd ${NUMBERED} ${LINES}\n  dir ${full}\n  out gen.log\n  rotate 1M keep 5\n  once\n}\n`);
    const wrap = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
      `mkdir -p "$1" && mount -t tmpfs -o size=4m pmtr-e2e-full "$1" && shift && exec "$@"`, "sh", full];
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], { wrap }, async (p) => {
        const pmtrPid = await waitFor("pmtr running in its namespace", () => readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number)
          .find((pid) => readOr(`/proc/${pid}/cmdline`).split("\0")[0] === PMTR && readOr(`/proc/${pid}/cmdline`).includes(conf)));
        const seen = (name: string) => `/proc/${pmtrPid}/root${full}/${name}`;
        await p.waitLog(/job gen: cannot write its output to .*gen\.log: No space left on device; the job waits until it can be written/, 30_000);
        // Held: the job is alive and blocked, and pmtr holds at most a bounded amount.
        expect(p.stderr).not.toMatch(/job gen \[\d+\] exited/);
        const rssMb = () => Number(readOr(`/proc/${pmtrPid}/status`).match(/^VmRSS:\s*(\d+)/m)![1]) / 1024;
        const samples: number[] = [];
        for (let i = 0; i < 10; i++) {
          samples.push(rssMb());
          await Bun.sleep(100);
        }
        expect(Math.max(...samples)).toBeLessThan(110); // what pmtr would hold if it buffered the job
        expect(p.count(/cannot write its output/)).toBe(1);
        // Space again: the oldest files go, as an operator would clear them.
        for (const n of [5, 4, 3, 2]) rm(seen(`gen.log.${n}`), { force: true });
        await p.waitLog("job gen: writing its output to", 30_000);
        // Lines the job wrote before the stall and after it join up without a gap. Read once
        // the disk is full again (the job has far more to write): nothing moves meanwhile.
        await waitFor("the second stall", () => p.count(/cannot write its output/) === 2, 30_000);
        const text = () => [5, 4, 3, 2, 1].map((n) => readOr(seen(`gen.log.${n}`))).join("") + readOr(seen("gen.log"));
        const range = consecutive(text());
        expect(range.last).toBeGreaterThan(range.first);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
