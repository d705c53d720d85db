// SPEC §13 end to end with dist/pmtr: `rotate SIZE [keep N]` (every numbered line exactly once,
// whole, in order, across F.N ... F.1, F, at several sizes; files of the job's user),
// SIGUSR1 after mv, `pmtr logs -n` over a rotated set and `-f` across rotations, and
// `out console` / `err console` with 10 jobs writing at once (no line interleaved or lost).

import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { FIXTURES, forAnyUser, join, readOr, rmSync, runPmtr, PMTR, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const NUMBERED = forAnyUser(join(FIXTURES, "logs/numbered.sh"));
const TICKER = forAnyUser(join(FIXTURES, "logs/ticker.sh"));

/** The text of a rotated set, oldest file first. */
function rotatedText(path: string, keep: number): string {
  let text = "";
  for (let n = keep; n >= 1; n--) text += readOr(`${path}.${n}`);
  return text + readOr(path);
}

function numberedLines(n: number, prefix = "line"): string {
  const x = "x".repeat(50);
  let text = "";
  for (let i = 1; i <= n; i++) text += `${prefix} ${i} ${x.slice(0, i % 50)}\n`;
  return text;
}

/** Tick numbers in order; throws unless they run on from the first without a gap or repeat. */
function contiguousTicks(text: string): number[] {
  const ticks = text.split("\n").filter(Boolean).map((l) => {
    const m = l.match(/^tick (\d+)$/);
    if (!m) throw new Error(`not a whole tick line: ${JSON.stringify(l)}`);
    return Number(m[1]);
  });
  ticks.forEach((t, i) => {
    if (i > 0 && t !== ticks[i - 1]! + 1) throw new Error(`tick ${ticks[i - 1]} followed by ${t}`);
  });
  return ticks;
}

describe("rotate SIZE [keep N] (SPEC §13)", () => {
  for (const [size, lines] of [["1K", 3000], ["16K", 20000], ["1M", 100000]] as const) {
    test.concurrent(`rotate ${size}: every line once, whole and in order across the set; no file over ${size}`, async () => {
      const dir = tempDir("pmtr-logs-rotate-");
      const conf = writeConfig(dir, `job {\n  name gen\n  cmd ${NUMBERED} ${lines}\n  dir ${dir}\n  out gen.log\n  rotate ${size} keep 1000\n  once\n}\n`);
      try {
        await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async (p) => {
          await p.waitLog("job gen ran once", 20_000);
          const want = numberedLines(lines);
          await waitFor("every line in the files", () => rotatedText(join(dir, "gen.log"), 1000).length >= want.length, 20_000);
          expect(rotatedText(join(dir, "gen.log"), 1000) === want).toBe(true);
          const maxBytes = size === "1K" ? 1024 : size === "16K" ? 16384 : 1 << 20;
          for (let n = 1; existsSync(join(dir, `gen.log.${n}`)); n++) {
            const st = statSync(join(dir, `gen.log.${n}`));
            expect(st.size).toBeLessThanOrEqual(maxBytes);
            expect(st.mode & 0o777).toBe(0o644);
          }
          expect(existsSync(join(dir, "gen.log.1"))).toBe(true);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test.concurrent("keep N drops the oldest; files are created as the job's user", async () => {
    const dir = tempDir("pmtr-logs-rotate-");
    chmodSync(dir, 0o755);
    const logs = join(dir, "logs");
    mkdirSync(logs);
    chownSync(logs, 65534, 65534); // nobody
    const conf = writeConfig(dir, `job {\n  name gen\n  cmd ${NUMBERED} 3000\n  user nobody\n  dir ${logs}\n  out gen.log\n  err gen.log\n  rotate 1K keep 3\n  once\n}\n`);
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async (p) => {
        await p.waitLog("job gen ran once", 20_000);
        await waitFor("the last line in gen.log", () => readOr(join(logs, "gen.log")).includes("line 3000 "), 20_000);
        expect(existsSync(join(logs, "gen.log.3"))).toBe(true);
        expect(existsSync(join(logs, "gen.log.4"))).toBe(false);
        // The newest lines, whole and in order, end the set.
        const text = rotatedText(join(logs, "gen.log"), 3);
        expect(numberedLines(3000).endsWith(text)).toBe(true);
        for (const name of ["gen.log", "gen.log.1", "gen.log.3"]) expect(statSync(join(logs, name)).uid).toBe(65534);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent("a rotated file the job's user cannot create is a start failure with the reason", async () => {
    const dir = tempDir("pmtr-logs-rotate-");
    chmodSync(dir, 0o755); // root's: nobody may enter but not create
    const conf = writeConfig(dir, `job {\n  name web\n  cmd /bin/sleep 600\n  user nobody\n  dir ${dir}\n  out web.log\n  rotate 1M\n}\n`);
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async (p) => {
        await p.waitLog(`job web failed to start: out: open ${dir}/web.log as user nobody: Permission denied`);
        expect(existsSync(join(dir, "web.log"))).toBe(false);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent("a new rotate size applies in place: same process, the file rotates at the new size", async () => {
    const dir = tempDir("pmtr-logs-rotate-");
    const job = (rotate: string) => `job {\n  name tick\n  cmd ${TICKER}\n  dir ${dir}\n  out tick.log\n  rotate ${rotate}\n}\n`;
    const conf = writeConfig(dir, job("10M"));
    const log = join(dir, "tick.log");
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async (p) => {
        await waitFor("tick 3", () => readOr(log).includes("tick 3\n"));
        writeConfig(dir, job("1K keep 2"));
        await p.waitLog("rescanning job configuration");
        await waitFor("a rotation at 1K", () => existsSync(`${log}.1`), 20_000);
        expect(startedPids(p.stderr, "tick").length).toBe(1);
        expect(statSync(`${log}.1`).size).toBeLessThanOrEqual(1024);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent("SIGUSR1 after mv: the job's lines go on in a new file, none lost or repeated", async () => {
    const dir = tempDir("pmtr-logs-rotate-");
    const conf = writeConfig(dir, `job {\n  name tick\n  cmd ${TICKER}\n  dir ${dir}\n  out tick.log\n  rotate 10M\n}\n`);
    const log = join(dir, "tick.log");
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async (p) => {
        await waitFor("tick 5", () => readOr(log).includes("tick 5\n"));
        renameSync(log, `${log}.moved`);
        await waitFor("a tick written into the moved file", () => readOr(`${log}.moved`).split("\n").length > 8);
        process.kill(p.pid, "SIGUSR1");
        await p.waitLog("reopened 1 log file");
        await waitFor("ticks in the new tick.log", () => readOr(log).split("\n").length > 5);
        const moved = contiguousTicks(readOr(`${log}.moved`));
        const fresh = contiguousTicks(readOr(log));
        expect(fresh[0]).toBe(moved.at(-1)! + 1);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent("pmtr logs -n reaches into F.1; logs -f follows across rotations without a gap", async () => {
    const dir = tempDir("pmtr-logs-rotate-");
    const conf = writeConfig(dir, `job {\n  name tick\n  cmd ${TICKER} 0.002\n  dir ${dir}\n  out tick.log\n  rotate 1K keep 50\n}\n`);
    const log = join(dir, "tick.log");
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async () => {
        await waitFor("a first rotation", () => existsSync(`${log}.1`), 15_000);
        const follower = Bun.spawn([PMTR, "logs", "-c", conf, "-f", "-n", "3", "tick"], { stdout: "pipe", stderr: "pipe" });
        let followed = "";
        const reading = (async () => {
          const decoder = new TextDecoder();
          for await (const chunk of follower.stdout) followed += decoder.decode(chunk, { stream: true });
        })();
        try {
          // Three more rotations while it follows.
          const start = Number(readOr(`${log}.1`).match(/^tick (\d+)$/m)![1]);
          await waitFor("three more rotations", () => {
            const m = readOr(`${log}.4`).match(/^tick (\d+)$/m);
            return m !== null && Number(m[1]) >= start;
          }, 30_000);
          const last = await waitFor("the newest line followed", () => {
            const ticks = contiguousTicks(followed);
            return ticks.length > 0 && readOr(log).includes(`tick ${ticks.at(-1)! + 5}\n`) ? ticks : null;
          }, 15_000);
          expect(last.length).toBeGreaterThan(200); // > 2 files' worth of ~10-byte lines
        } finally {
          follower.kill();
          await follower.exited;
          await reading;
        }
        const n = await runPmtr(["logs", "-c", conf, "-n", "400", "tick"]);
        expect(n.code).toBe(0);
        expect(contiguousTicks(n.stdout).length).toBe(400); // more than tick.log holds: F.1 first
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("out console / err console (SPEC §13)", () => {
  test.concurrent("10 jobs at once: each line whole on pmtr's stdout or stderr as NAME | line, none lost", async () => {
    const dir = tempDir("pmtr-logs-console-");
    const jobs = Array.from({ length: 10 }, (_, i) => `job {\n  name c${i}\n  cmd /bin/sh -c "${NUMBERED} 2000 out${i}; ${NUMBERED} 500 err${i} >&2"\n  out console\n  err console\n  once\n}\n`);
    const conf = writeConfig(dir, jobs.join(""));
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async (p) => {
        for (let i = 0; i < 10; i++) await p.waitLog(`job c${i} ran once`, 20_000);
        await waitFor("every stdout line", () => p.stdout.split("\n").length > 10 * 2000, 20_000);
        await waitFor("every stderr line", () => (p.stderr.match(/^c\d \| /gm) ?? []).length >= 10 * 500, 20_000);
        for (let i = 0; i < 10; i++) {
          const out = p.stdout.split("\n").filter((l) => l.startsWith(`c${i} | `)).map((l) => l.slice(5)).join("\n") + "\n";
          expect(out === numberedLines(2000, `out${i}`)).toBe(true);
          const err = p.stderr.split("\n").filter((l) => l.startsWith(`c${i} | `)).map((l) => l.slice(5)).join("\n") + "\n";
          expect(err === numberedLines(500, `err${i}`)).toBe(true);
        }
        // Nothing but whole prefixed lines on stdout.
        expect(p.stdout.split("\n").filter(Boolean).every((l) => /^c\d \| out\d \d+ x*$/.test(l))).toBe(true);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
