// UDP status reports and control end to end: dist/pmtr with `report to` and `listen on`, a
// collector socket in the test, datagrams sent from the test.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { hostname } from "node:os";
import { isAlive, Pmtr, rmSync, tempDir, waitFor, writeConfig } from "../helpers.ts";

const dir = tempDir("pmtr-udp-e2e-");
let collector: dgram.Socket;
let reports: { at: number; text: string }[] = [];
let listenPort: number;
let pmtr: Pmtr;

async function freePort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const port = s.address().port;
  s.close();
  return port;
}

async function send(text: string | Uint8Array): Promise<void> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => s.send(text, listenPort, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
  s.close();
}

type Line = { name: string; enabled: string; seconds: number; pid: number; cmd: string };

function parse(text: string): { host: string; jobs: Record<string, Line> } {
  const [head, ...lines] = text.trimEnd().split("\n");
  const jobs: Record<string, Line> = {};
  for (const line of lines) {
    const [name, enabled, seconds, pid, cmd, ...rest] = line.split(" ");
    expect(rest).toEqual([]);
    jobs[name!] = { name: name!, enabled: enabled!, seconds: Number(seconds), pid: Number(pid), cmd: cmd! };
  }
  return { host: head!.replace(/^report /, ""), jobs };
}

/** The first report received after `since` whose jobs satisfy `check`. */
function reportAfter(since: number, check: (jobs: Record<string, Line>) => boolean, what: string, timeoutMs = 5000) {
  return waitFor(what, () => reports.filter((r) => r.at >= since).map((r) => parse(r.text)).find((r) => check(r.jobs)), timeoutMs);
}

beforeAll(async () => {
  collector = dgram.createSocket("udp4");
  collector.on("message", (m) => reports.push({ at: Date.now(), text: m.toString() }));
  await new Promise<void>((r) => collector.bind(0, "127.0.0.1", r));
  listenPort = await freePort();
  const conf = writeConfig(dir, `report to udp://127.0.0.1:${collector.address().port}
listen on udp://127.0.0.1:${listenPort}
job {
  name sleeper
  cmd /bin/sleep 600
}
job {
  name second
  cmd /bin/sleep 601
}
job {
  name off
  cmd /bin/true
  disable
}
`);
  pmtr = new Pmtr(["-F", "-c", conf, "-s", `${dir}/pmtr.sock`]);
  await reportAfter(0, (j) => j.sleeper?.pid! > 0 && j.second?.pid! > 0, "both jobs running in a report", 10_000);
});

afterAll(async () => {
  await pmtr?.stop();
  collector?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("report to", () => {
  test("every field: host, name, e|d, seconds, pid, command path", async () => {
    const r = await reportAfter(0, (j) => j.sleeper?.pid! > 0, "a report");
    expect(r.host).toBe(hostname());
    expect(Object.keys(r.jobs)).toEqual(["sleeper", "second", "off"]);
    expect(r.jobs.sleeper).toMatchObject({ enabled: "e", cmd: "/bin/sleep" });
    expect(isAlive(r.jobs.sleeper!.pid)).toBe(true);
    expect(r.jobs.sleeper!.seconds).toBeGreaterThanOrEqual(0);
    expect(r.jobs.off).toEqual({ name: "off", enabled: "d", seconds: 0, pid: 0, cmd: "/bin/true" });
    // Exactly the upstream format, byte for byte.
    const raw = reports.at(-1)!.text;
    expect(raw).toMatch(/^report \S+\n(\S+ [ed] \d+ \d+ \/\S*\n)+$/);
  });

  test("a report follows a state change at once", async () => {
    const since = Date.now();
    const pid = parse(reports.at(-1)!.text).jobs.sleeper!.pid;
    process.kill(pid, "SIGKILL");
    // Without the change-triggered report this would wait for the next 10 s tick.
    await reportAfter(since, (j) => j.sleeper?.pid !== pid, "a report without the killed pid", 5000);
  });
});

describe("listen on", () => {
  test("disable NAME stops the job; enable NAME starts it at once", async () => {
    let since = Date.now();
    await send("disable sleeper\n");
    const down = await reportAfter(since, (j) => j.sleeper?.enabled === "d" && j.sleeper.pid === 0, "sleeper disabled and stopped", 15_000);
    expect(down.jobs.second!.pid).toBeGreaterThan(0);
    since = Date.now();
    await send("  enable sleeper  ");
    await reportAfter(since, (j) => j.sleeper?.enabled === "e" && j.sleeper.pid > 0, "sleeper enabled and running");
  }, 30_000);

  test("several names and mode switches in one datagram", async () => {
    let since = Date.now();
    await send("disable sleeper second");
    await reportAfter(since, (j) => j.sleeper?.pid === 0 && j.second?.pid === 0, "both stopped", 15_000);
    since = Date.now();
    await send("enable sleeper disable off enable second");
    await reportAfter(since, (j) => j.sleeper?.pid! > 0 && j.second?.pid! > 0 && j.off?.enabled === "d", "both back");
  }, 30_000);

  test("unknown names, malformed and oversized datagrams are logged and ignored", async () => {
    await send("enable nosuchjob");
    await pmtr.waitLog("control msg for unknown job nosuchjob");
    await send("reboot now");
    await pmtr.waitLog('control datagram "reboot now" ignored');
    await send("enable");
    await pmtr.waitLog('control datagram "enable" ignored: enable names no job');
    await send(new Uint8Array(5000).fill(0x61));
    await pmtr.waitLog("control datagram of 5000 bytes ignored");
    await send(new Uint8Array([0xff, 0xfe, 0x00]));
    await pmtr.waitLog("control datagram ignored: not UTF-8 text");
    // Still running, still listening.
    const since = Date.now();
    const pid = parse(reports.at(-1)!.text).jobs.sleeper!.pid;
    expect(isAlive(pid)).toBe(true);
    await send("disable sleeper");
    await reportAfter(since, (j) => j.sleeper?.pid === 0, "still listening", 15_000);
    await send("enable sleeper");
  }, 30_000);
});

test("listen on a non-loopback address: a warning", async () => {
  const d = tempDir("pmtr-udp-warn-");
  try {
    const port = await freePort();
    const conf = writeConfig(d, `listen on udp://0.0.0.0:${port}\njob {\n  name a\n  cmd /bin/sleep 600\n}\n`);
    const p = new Pmtr(["-F", "-c", conf, "-s", `${d}/pmtr.sock`]);
    try {
      await p.waitLog(`listen on udp://0.0.0.0:${port}: UDP control is unauthenticated`);
      await p.waitLog("started job a"); // stopped only once running, so its job is not left behind
    } finally {
      await p.stop();
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("with nothing changing, a report every 10 s", async () => {
  const d = tempDir("pmtr-udp-tick-");
  const got: string[] = [];
  const sink = dgram.createSocket("udp4");
  sink.on("message", (m) => got.push(m.toString()));
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
  const conf = writeConfig(d, `report to udp://127.0.0.1:${sink.address().port}\njob {\n  name steady\n  cmd /bin/sleep 600\n}\n`);
  const p = new Pmtr(["-F", "-c", conf, "-s", `${d}/pmtr.sock`]);
  try {
    await waitFor("steady running", () => got.some((t) => parse(t).jobs.steady!.pid > 0), 10_000);
    const first = parse(got.at(-1)!).jobs.steady!;
    const count = got.length;
    await waitFor("the next, periodic report", () => got.length > count, 15_000);
    const next = parse(got.at(-1)!).jobs.steady!;
    // Same run, about 10 s on: the timer sent it, not a change.
    expect(next.pid).toBe(first.pid);
    expect(next.seconds - first.seconds).toBeGreaterThanOrEqual(9);
  } finally {
    await p.stop();
    sink.close();
    rmSync(d, { recursive: true, force: true });
  }
}, 30_000);
