// SPEC §13 with the real logrotate (Debian package logrotate) against a running pmtr, using
// examples/logrotate.pmtr as shipped (paths moved into the test's directory): pmtr's -l file
// and a `rotate` job's output in `create` mode with `pmtr reopen` (no line lost or repeated),
// a direct job's output with `copytruncate`.

import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { FIXTURES, join, PMTR, readOr, rmSync, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const TICKER = join(FIXTURES, "logs/ticker.sh");
const EXAMPLE = resolve(import.meta.dir, "../../examples/logrotate.pmtr");

function logrotate(): string {
  const found = Bun.which("logrotate", { PATH: `/usr/sbin:/sbin:${process.env.PATH}` });
  if (!found) throw new Error("logrotate is not installed: apt-get install logrotate (the Debian package; .ci/run installs it)");
  return found;
}

function ticks(text: string): number[] {
  return text.split("\n").filter(Boolean).map((l) => {
    const m = l.match(/^tick (\d+)$/);
    if (!m) throw new Error(`not a whole tick line: ${JSON.stringify(l)}`);
    return Number(m[1]);
  });
}

describe("logrotate (examples/logrotate.pmtr)", () => {
  test("create + pmtr reopen for pmtr's files, copytruncate for direct ones", async () => {
    const bin = logrotate();
    const dir = tempDir("pmtr-logs-logrotate-");
    chmodSync(dir, 0o755); // logrotate refuses a parent directory writable by others; 0700 is fine too
    mkdirSync(join(dir, "rotated"));
    mkdirSync(join(dir, "direct"));
    const sock = join(dir, "pmtr.sock");
    const conf = writeConfig(dir, `
job {
  name viapmtr
  cmd ${TICKER}
  dir ${dir}/rotated
  out tick.log
  rotate 100M
}
job {
  name direct
  cmd ${TICKER}
  dir ${dir}/direct
  out tick.log
}
`);
    // The example as shipped, its paths moved here and its pmtr given this socket.
    const rules = readFileSync(EXAMPLE, "utf8")
      .replaceAll("/var/log/pmtr.log", `${dir}/pmtr.log`)
      .replaceAll("/var/log/pmtr/", `${dir}/`)
      .replaceAll("/usr/bin/pmtr reopen", `${PMTR} -s ${sock} reopen`);
    writeFileSync(join(dir, "logrotate.conf"), rules, { mode: 0o644 });
    try {
      await withPmtr(["-F", "-c", conf, "-s", sock, "-l", join(dir, "pmtr.log")], {}, async (p) => {
        const rotated = join(dir, "rotated/tick.log");
        const direct = join(dir, "direct/tick.log");
        await waitFor("ticks in both files", () => readOr(rotated).includes("tick 10\n") && readOr(direct).includes("tick 10\n"));
        const r = Bun.spawnSync([bin, "-f", "-s", join(dir, "logrotate.state"), join(dir, "logrotate.conf")], { stdout: "pipe", stderr: "pipe" });
        expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 0, stderr: "" });
        await p.waitLog("reopened 2 log files");
        // pmtr's own log: the old lines in .1, the reopen onwards in the new file.
        await waitFor("the reopen line in the new pmtr.log", () => readOr(join(dir, "pmtr.log")).includes("reopened 2 log files"));
        expect(readOr(join(dir, "pmtr.log.1"))).toContain("started job viapmtr");
        expect(readOr(join(dir, "pmtr.log"))).not.toContain("started job viapmtr");
        // The rotate job: every tick once, in order, across tick.log.1 and the new tick.log.
        await waitFor("ticks in the new tick.log", () => ticks(readOr(rotated)).length >= 5);
        const all = [...ticks(readOr(`${rotated}.1`)), ...ticks(readOr(rotated))];
        expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
        // The direct job: copied, then truncated in place; the job writes on at the start of it.
        expect(ticks(readOr(`${direct}.1`))[0]).toBe(1);
        await waitFor("ticks in the truncated tick.log", () => ticks(readOr(direct)).length >= 5);
        expect(readOr(direct)).not.toContain("\0");
        expect(ticks(readOr(direct))[0]).toBeGreaterThan(ticks(readOr(`${direct}.1`)).at(-1)! - 1);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
