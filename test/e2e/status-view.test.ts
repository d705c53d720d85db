// SPEC §10 end to end with dist/pmtr: `pmtr status` says why each job is in its state, `pmtr
// status NAME` shows everything (the process group's memory and CPU from /proc included),
// `--json` matches the JSON Schema in the README, and start/restart answer with the outcome as
// soon as it is known (tried as a new user would: `pmtr restart` of a job that exits at once used
// to wait 18 s and then report success).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { join, Pmtr, readOr, rmSync, runPmtr, tempDir, waitFor, writeConfig } from "../helpers.ts";

const dir = tempDir("pmtr-status-e2e-");
const sock = join(dir, "pmtr.sock");
const missing = join(dir, "missing.conf");
let conf: string;
let pmtr: Pmtr;

const CONFIG = `
job {
  name web
  cmd /bin/sh -c "/bin/sleep 600 & /bin/sleep 601 & wait" "hello world"
  dir ${dir}
  out web.log
}
job {
  name crash
  cmd /bin/sh -c "exit 3"
}
job {
  name once
  cmd /bin/sh -c "/bin/sleep 0.2; exit 0"
  once
}
job {
  name dep
  cmd /bin/sleep 600
  depends {
    ${missing}
  }
}
job {
  name off
  cmd /bin/sleep 600
  disable
}
job {
  name badout
  cmd /bin/sleep 600
  out /nonexistent-dir/x.log
}
job {
  name slow
  cmd /bin/sleep 600
  stop timeout 30s
}
`;

/** The 1-based line of the `job {` that opens the block naming `name`. */
const blockLine = (name: string) => CONFIG.split("\n").indexOf(`  name ${name}`);

const client = (...args: string[]) => runPmtr(["-s", sock, ...args], { timeoutMs: 60_000 });

type Job = { name: string; state: string; reason: string; pid: number | null; restarts: number; usage: { rssBytes: number; cpuSeconds: number; processes: number } | null; lastStartError: { step: string; error: string } | null };

async function jobs(): Promise<Record<string, Job>> {
  const { stdout } = await client("status", "--json");
  return Object.fromEntries(JSON.parse(stdout).jobs.map((j: Job) => [j.name, j]));
}

/** The README's JSON Schema for `pmtr status --json`, as a zod validator. */
function readmeSchema(): z.ZodType {
  const readme = readFileSync(resolve(import.meta.dir, "../../README.md"), "utf8");
  const at = readme.indexOf("<!-- status-json-schema -->\n```json\n");
  expect(at).toBeGreaterThan(0);
  const start = readme.indexOf("\n", readme.indexOf("```json", at)) + 1;
  return z.fromJSONSchema(JSON.parse(readme.slice(start, readme.indexOf("\n```\n", start))));
}

/** Processes whose process group is `pgid`, and their resident memory, read here independently. */
function group(pgid: number): { processes: number; rssBytes: number } {
  let processes = 0;
  let pages = 0;
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    const stat = readOr(`/proc/${entry}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) !== pgid) continue;
    processes++;
    pages += Number(f[21]);
  }
  return { processes, rssBytes: pages * 4096 };
}

beforeAll(async () => {
  conf = writeConfig(dir, CONFIG);
  pmtr = new Pmtr(["-F", "-c", conf, "-s", sock]);
  await waitFor("every job in its state", async () => {
    const j = await jobs();
    return j.web?.state === "running" && j.crash?.state === "backoff" && j.once?.state === "done" && j.dep?.state === "waiting" &&
      j.off?.state === "disabled" && j.badout?.state === "backoff" && j.slow?.state === "running" &&
      // pmtr's own reading too: its /proc scan is shared for up to 1 s, and one taken while the
      // shell had forked only its first sleep says 2 until it expires.
      group(j.web.pid!).processes === 3 && j.web.usage?.processes === 3;
  }, 15_000, 50);
});

afterAll(async () => {
  await pmtr?.stop(40_000);
  rmSync(dir, { recursive: true, force: true });
});

describe("status", () => {
  test("the table: one sentence per job saying why; exit 3 while a job meant to run does not", async () => {
    // crash restarts every 10 s and lives a few ms: take a table that shows it between runs.
    const { code, stdout, stderr } = await waitFor("a table with crash in backoff", async () => {
      const r = await client("status");
      return /^crash +backoff /m.test(r.stdout) ? r : null;
    });
    expect(stderr).toBe("");
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +STATE +PID +RESTARTS +LAST EXIT +INFO$/);
    const info = Object.fromEntries(lines.slice(1).map((l) => [l.split(/\s+/)[0], l.slice(lines[0]!.indexOf("INFO"))]));
    expect(info.web).toMatch(/^up \d/);
    expect(info.crash).toMatch(/^exit 3 after [\d.]+ s; restart in \d+ s \(attempt \d+\)$/);
    expect(info.once).toMatch(/^exit 0 after [\d.]+ s: not restarted$/);
    expect(info.dep).toContain(missing);
    expect(info.off).toBe(`disabled in pmtr.conf:${blockLine("off")}`);
    expect(info.badout).toMatch(/^failed to start: out: .*No such file or directory.*; restart in \d+ s/);
    expect(code).toBe(3);
  });

  test("pmtr status NAME: everything about the job, its process group's memory and CPU from /proc", async () => {
    const { code, stdout } = await client("status", "web");
    expect(code).toBe(0);
    const pid = (await jobs()).web!.pid!;
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("web");
    const field = (label: string) => lines.find((l) => l.startsWith(`  ${label} `))?.slice(2 + label.length).trim();
    expect(field("state")).toMatch(/^running: up \d/);
    expect(field("pid")).toBe(String(pid));
    expect(field("started")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\S+( s)? ago\)$/);
    expect(field("command")).toBe('/bin/sh -c "/bin/sleep 600 & /bin/sleep 601 & wait" "hello world"');
    expect(field("dir")).toBe(dir);
    expect(field("out")).toBe("web.log");
    expect(field("err")).toBe("/dev/null");
    expect(field("user")).toBe("(pmtr's own)");
    expect(field("defined in")).toBe(`${conf}:${blockLine("web")}`);
    expect(field("memory")).toMatch(/^[\d.]+ (KiB|MiB) RSS in 3 processes of its process group$/);
    expect(field("cpu")).toMatch(/^[\d.]+ s /);
  });

  test("--json: the group's usage agrees with /proc", async () => {
    const pid = (await jobs()).web!.pid!;
    const before = group(pid);
    const web = (await jobs()).web!;
    const after = group(pid);
    expect(web.usage!.processes).toBe(after.processes);
    // RSS moves (the kernel reclaims idle pages under memory pressure): pmtr's reading lies
    // within what this test read just before and just after, give or take a factor of 2.
    expect(web.usage!.rssBytes).toBeGreaterThan(Math.min(before.rssBytes, after.rssBytes) / 2);
    expect(web.usage!.rssBytes).toBeLessThan(Math.max(before.rssBytes, after.rssBytes) * 2);
    expect((await jobs()).off!.usage).toBeNull(); // no process, no usage
  });

  test("--json matches the JSON Schema in the README, in every state", async () => {
    const schema = readmeSchema();
    const { stdout, code } = await client("status", "--json");
    expect(code).toBe(3);
    const parsed = JSON.parse(stdout);
    const result = schema.safeParse(parsed);
    expect(result.success ? "valid" : JSON.stringify(result.error.issues, null, 2)).toBe("valid");
    expect(new Set(parsed.jobs.map((j: Job) => j.state))).toEqual(new Set(["running", "backoff", "done", "waiting", "disabled"]));
    expect(parsed.jobs.find((j: Job) => j.name === "badout").lastStartError).toMatchObject({ step: "out" });
    // The schema is strict: an undocumented field, or a state it does not name, is refused.
    expect(schema.safeParse({ ...parsed, extra: 1 }).success).toBe(false);
    expect(schema.safeParse({ ...parsed, jobs: [{ ...parsed.jobs[0], state: "delayed" }] }).success).toBe(false);
    expect(schema.safeParse({ ...parsed, jobs: [{ ...parsed.jobs[0], surprise: true }] }).success).toBe(false);
    // Names that are not jobs.
    const named = JSON.parse((await client("status", "--json", "web", "nope")).stdout);
    expect(schema.safeParse(named).success).toBe(true);
    expect(named.unknown).toEqual(["nope"]);
  });
});

describe("start and restart answer with the outcome", () => {
  test("restart of a job that exits at once fails promptly, with how it exited", async () => {
    const before = (await jobs()).crash!.restarts;
    const r = await client("restart", "crash");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    // Answered before the restart it announces: the job was not left to loop for 18 s first.
    expect(r.stderr).toMatch(/^pmtr: crash: not running \(backoff\): exit 3 after [\d.]+ s; restart in \d+ s \(attempt \d+\)\n$/);
    expect((await jobs()).crash!.restarts).toBeGreaterThan(before);
  });

  test("a job that cannot start: the step and the OS error", async () => {
    const r = await client("restart", "badout");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pmtr: badout: not running \(backoff\): failed to start: out: .*No such file or directory/);
  });

  test("exit 0 of a once job is a success", async () => {
    const r = await client("start", "once");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^once: ran and exited 0 \(exit 0 after [\d.]+ s: not restarted\)\n$/);
  });

  test("a waiting job answers at once, naming what it waits for", async () => {
    const r = await client("start", "dep");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pmtr: dep: not started: waiting for ${missing}, which does not exist\n`);
  });

  test("a job that keeps running for 1 s is started; the daemon tells the client how long to wait", async () => {
    // The first line of the answer: the job's stop timeout (30 s) plus a margin — past the
    // client's old fixed 25 s.
    let raw = "";
    await new Promise<void>((done, fail) => {
      Bun.connect({ unix: sock, socket: { data(_s, chunk) { raw += chunk.toString(); }, close: () => done(), error: (_s, e) => fail(e) } })
        .then((s) => s.write('{"op":"restart","names":["slow"]}\n'), fail);
    });
    const [accepted, answer] = raw.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(accepted.op).toBe("accepted");
    expect(accepted.deadlineMs).toBeGreaterThanOrEqual(30_000);
    expect(answer.results).toEqual([{ name: "slow", ok: true, message: expect.stringMatching(/^restarted \[\d+\]$/) }]);
  });
});

test("--all: stop and start every job", async () => {
  const stop = await client("stop", "--all");
  expect(stop.code).toBe(0);
  expect(stop.stdout.split("\n").filter(Boolean).map((l) => l.split(":")[0])).toEqual(["web", "crash", "once", "dep", "off", "badout", "slow"]);
  const after = await jobs();
  expect(Object.values(after).every((j) => j.pid === null)).toBe(true);
  expect(after.web!.state).toBe("stopped");
  expect(after.web!.reason).toMatch(/^stopped by pmtr stop at \d\d:\d\d$/);
  // Every job, `disable`d ones included: those that cannot stay up make the command fail.
  const start = await client("start", "--all");
  expect(start.code).toBe(1);
  expect(start.stdout).toMatch(/^web: started \[\d+\]$/m);
  expect(start.stdout).toMatch(/^off: started \[\d+\]$/m);
  expect(start.stderr).toMatch(/^pmtr: crash: not running \(backoff\)/m);
  expect(start.stderr).toMatch(/^pmtr: dep: not started: waiting for/m);
  expect((await client("status", "--all")).stdout).toMatch(/^NAME +STATE/);
}, 60_000);
