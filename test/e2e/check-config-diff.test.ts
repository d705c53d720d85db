// `pmtr -t --diff` (SPEC §15, issue 16): asks the running pmtr for its configuration and prints
// what applying FILE would do; the save that follows does exactly that, job by job.

import { afterEach, describe, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { FIXTURES, isAlive, join, jobRunning, pidsWithArg, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const TAG = `diff-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const job = (name: string, ...extra: string[]) =>
  [`job {`, `  name ${name}`, `  cmd ${SLEEPER} ${marker(name.replace(/\..*/, ""))}-%i`, ...extra.map((l) => `  ${l}`), `}`, ""].join("\n");
/** A plain job; `%i` stays literal in it, so its marker is NAME-%i too. */
const BEFORE = job("keep") + job("gone") + job("web", "nice 1") + job("db", "backoff 1s..1m") + job("w", "instances 2");
const AFTER = job("keep") + job("web", "nice 5") + job("db", "backoff 2s..1m", "stop timeout 30s") + job("w", "instances 3") + job("fresh");

function markerOf(name: string): string {
  const [base, index] = name.split(".");
  return `${marker(base!)}-${index ?? "%i"}`;
}

describe("pmtr -t --diff", () => {
  test("prints the plan, and the reload that follows does exactly that", async () => {
    const dir = tempDir("pmtr-diff-");
    dirs.push(dir);
    const conf = writeConfig(dir, BEFORE);
    const next = writeConfig(dir, AFTER, "next.conf");
    const sock = join(dir, "pmtr.sock");
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      const names = ["keep", "gone", "web", "db", "w.1", "w.2"];
      const before = new Map<string, number>();
      for (const name of names) before.set(name, await jobRunning(p, name, markerOf(name)));

      const diff = await runPmtr(["-t", "--diff", "-c", next, "-s", sock]);
      expect({ code: diff.code, stderr: diff.stderr }).toEqual({ code: 0, stderr: "" });
      const lines = diff.stdout.trimEnd().split("\n");
      expect(lines).toEqual([
        "restart web: nice changed",
        "apply in place db: backoff, stop timeout changed",
        "start w.3",
        "start fresh",
        "stop gone",
        "3 unchanged",
      ]);
      // Asking changed nothing.
      for (const [name, pid] of before) expect(startedPids(p.stderr, name)).toEqual([pid]);

      renameSync(next, conf);
      // Each line of the plan, checked against what the reload did.
      for (const line of lines) {
        const [, verb, name] = /^(start|stop|restart|apply in place) ([^:]+)/.exec(line) ?? [];
        if (verb === "start") await jobRunning(p, name!, markerOf(name!), [], 10_000);
        if (verb === "stop") await waitFor(`${name} stopped`, () => pidsWithArg(markerOf(name!)).length === 0, 15_000);
        if (verb === "restart") await waitFor(`${name} restarted`, () => startedPids(p.stderr, name!).length === 2 && isAlive(startedPids(p.stderr, name!)[1]!), 15_000);
      }
      await p.waitLog(/: started job fresh \[\d+\]/);
      // In place and unchanged: the same process as before.
      for (const name of ["db", "keep", "w.1", "w.2"]) {
        expect(startedPids(p.stderr, name)).toEqual([before.get(name)!]);
        expect(isAlive(before.get(name)!)).toBe(true);
      }
      expect(isAlive(before.get("gone")!)).toBe(false);
    });
  });

  test("an invalid FILE: its errors, exit 1, pmtr not asked", async () => {
    const dir = tempDir("pmtr-diff-");
    dirs.push(dir);
    const bad = writeConfig(dir, "job {\n  name x\n}\n", "bad.conf");
    const r = await runPmtr(["-t", "--diff", "-c", bad, "-s", join(dir, "none.sock")]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: `${bad}:1: job "x" has no cmd (add: cmd /path/to/program ARGS)\n${bad}: parse failed: 1 error\n` });
  });

  test("no pmtr running: a clear message, exit 3", async () => {
    const dir = tempDir("pmtr-diff-");
    dirs.push(dir);
    const conf = writeConfig(dir, job("a"));
    const sock = join(dir, "none.sock");
    const r = await runPmtr(["-t", "--diff", "-c", conf, "-s", sock]);
    expect(r).toEqual({ code: 3, stdout: "", stderr: `pmtr: pmtr is not running (no control socket ${sock}; if pmtr was started with -s PATH, give the same -s)\n` });
  });

  test("--diff without -t is a usage error", async () => {
    const r = await runPmtr(["--diff"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("pmtr: --diff goes with -t");
    // The error, the synopsis and where the rest is: not 35 lines of help burying the error.
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[1]).toStartWith("usage: pmtr ");
    expect(lines.at(-1)).toBe("(pmtr --help for every option and command)");
    expect(lines.length).toBeLessThanOrEqual(8);
  });
});
