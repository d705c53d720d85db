// Closing the syslog sender at exit: records still queued for a busy syslog get a bounded
// moment to be taken, and whatever syslog never took is counted, never silently gone. (Found
// end to end: a job's last lines, queued behind a burst, vanished when pmtr exited.)

import { afterEach, describe, expect, test } from "bun:test";
import { join, rmSync, tempDir, waitFor } from "../../helpers.ts";
import { createLogger } from "../../../src/os/log/logger.ts";
import { openSyslog, type SendOutcome, type Syslog } from "../../../src/os/log/syslog.ts";
import { DgramReceiver } from "./dgram-receiver.ts";

const receivers: DgramReceiver[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A syslogd that reads nothing until `hold` exists. */
async function stalledSyslog(): Promise<{ r: DgramReceiver; hold: string }> {
  const dir = tempDir("pmtr-syslog-close-");
  dirs.push(dir);
  const hold = join(dir, "go");
  const r = await DgramReceiver.start(join(dir, "log"), { hold });
  receivers.push(r);
  return { r, hold };
}

/** Sends `n` numbered records; returns how each was taken. */
function sendMany(log: Syslog, n: number): Map<SendOutcome, number> {
  const outcomes = new Map<SendOutcome, number>();
  for (let i = 1; i <= n; i++) {
    const o = log.send("info", "burst", 7, `line ${i}`);
    outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
  }
  return outcomes;
}

const lineNumbers = (r: DgramReceiver) => r.records.filter((x) => x.includes("burst[7]: line ")).map((x) => Number(x.split("line ")[1]));

describe("Syslog.close()", () => {
  test("a syslog that catches up during close takes everything queued, in order", async () => {
    const { r, hold } = await stalledSyslog();
    const log = openSyslog(r.address)!;
    expect(sendMany(log, 60).get("queued")).toBeGreaterThan(0);
    // Woken by another process: close() blocks this one.
    const wakeUp = Bun.spawn(["/bin/sh", "-c", 'sleep 0.1; : > "$0"', hold]);
    expect(log.close()).toBe(0);
    await wakeUp.exited;
    await waitFor("all 60 records", () => lineNumbers(r).length === 60);
    expect(lineNumbers(r)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  test("a syslog that stays stalled: close returns, counting exactly what it never took", async () => {
    const { r, hold } = await stalledSyslog();
    const log = openSyslog(r.address)!;
    sendMany(log, 60);
    const lost = log.close();
    expect(lost).toBeGreaterThan(0);
    await Bun.write(hold, ""); // now read what the socket had accepted
    await waitFor("the socket's backlog", async () => {
      const before = r.records.length;
      await Bun.sleep(100);
      return r.records.length === before && before > 0;
    });
    expect(lineNumbers(r).length + lost).toBe(60);
  });

  test("records dropped while syslog was busy and never reported (syslog then gone) are counted too", async () => {
    const { r } = await stalledSyslog();
    const log = openSyslog(r.address)!;
    const outcomes = sendMany(log, 1100); // the socket's backlog, a full queue, the rest dropped
    expect(outcomes.get("dropped")).toBeGreaterThan(0);
    await r.stop(); // syslogd dies: its socket refuses everything, the notice included
    receivers.length = 0;
    expect(log.close()).toBe((outcomes.get("queued") ?? 0) + (outcomes.get("dropped") ?? 0));
  });
});

describe("Logger.close()", () => {
  test("says on stderr how many records syslog never took", async () => {
    const { r } = await stalledSyslog();
    const stderr: string[] = [];
    const logger = createLogger({ foreground: false, verbose: 0, env: {}, syslogPath: r.address, writeStderr: (t) => stderr.push(t) });
    for (let i = 0; i < 60; i++) logger.jobLine("burst", 7, "out", `line ${i}`);
    expect(stderr).toEqual([]);
    logger.close();
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(new RegExp(`^pmtr\\[${process.pid}\\]: \\d+ syslog record\\(s\\) not delivered: syslog at ${r.address} did not accept them before pmtr exited\\n$`));
  });

  test("says nothing when syslog took everything", async () => {
    const dir = tempDir("pmtr-syslog-close-");
    dirs.push(dir);
    const r = await DgramReceiver.start(join(dir, "log"));
    receivers.push(r);
    const stderr: string[] = [];
    const logger = createLogger({ foreground: false, verbose: 0, env: {}, syslogPath: r.address, writeStderr: (t) => stderr.push(t) });
    logger.jobLine("web", 9, "out", "hello");
    logger.close();
    await r.waitForCount(1);
    expect(stderr).toEqual([]);
  });
});
