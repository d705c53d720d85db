// `pmtr start` with `ready` and `after` (SPEC §10, §12) end to end: a start is a success only
// once the job is ready and has stayed up for 1 s; a job never ready within its time is a
// failure; `start --all` of an `after` chain waits for the chain instead of calling the
// dependant "waiting".

import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, rmSync as rm } from "node:fs";
import { join, Pmtr, rmSync, runPmtr, tempDir, waitFor, writeConfig } from "../helpers.ts";

const dir = tempDir("pmtr-client-ready-");
const sock = join(dir, "pmtr.sock");
const flag = join(dir, "ready");
let pmtr: Pmtr;

const CONFIG = `
job {
  name never
  cmd /bin/sleep 600
  ready tcp 127.0.0.1:1 within 2s
}
job {
  name later
  cmd /bin/sh -c "/bin/sleep 1; : > ${flag}; exec /bin/sleep 600"
  ready file ${flag} within 20s
}
job {
  name api
  cmd /bin/sleep 601
  after later
}
`;

const client = (...args: string[]) => runPmtr(["-s", sock, ...args], { timeoutMs: 60_000 });

async function states(): Promise<Record<string, string>> {
  const { stdout } = await client("status", "--json");
  return Object.fromEntries(JSON.parse(stdout).jobs.map((j: { name: string; state: string }) => [j.name, j.state]));
}

beforeAll(async () => {
  pmtr = new Pmtr(["-F", "-c", writeConfig(dir, CONFIG), "-s", sock]);
  await waitFor("api to run after later is ready", async () => (await states()).api === "running", 20_000, 50);
  expect((await client("stop", "--all")).code).toBe(0);
});

afterAll(async () => {
  await pmtr?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a job never ready within its time: the start fails with the reason", async () => {
  const r = await client("start", "never");
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^pmtr: never: not running \((backoff|starting)\): /);
});

test("start of an after chain (dependant named with what it waits for): each answered once ready and up 1 s", async () => {
  rm(flag, { force: true });
  const r = await client("start", "later", "api");
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout).toMatch(/^later: started \[\d+\]\napi: started \[\d+\]\n$/);
  expect(existsSync(flag)).toBe(true); // answered only after `later` was ready
  expect(await states()).toMatchObject({ later: "running", api: "running" });
}, 60_000);
