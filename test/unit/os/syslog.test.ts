// The syslog sender against a real datagram socket standing in for /dev/log: exact records,
// never a throw for an absent or refusing socket, and a bounded queue when syslog stalls.

import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, rmSync, tempDir as makeTempDir, waitFor } from "../../helpers.ts";
import {
  MAX_QUEUED_RECORDS, MAX_RECORD_BYTES, formatRecord, openSyslog, sanitize, syslogTimestamp, type SendOutcome,
} from "../../../src/os/log/syslog.ts";
import { DgramReceiver } from "./dgram-receiver.ts";

const AT = new Date(2024, 2, 7, 9, 5, 1); // local time, as glibc stamps records
const STAMP = "Mar  7 09:05:01";
const receivers: DgramReceiver[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = makeTempDir("pmtr-syslog-");
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function receiver(opts: { hold?: string } = {}) {
  const dir = tempDir();
  const r = await DgramReceiver.start(join(dir, "log"), opts);
  receivers.push(r);
  return { dir, r };
}

describe("record format (RFC 3164, as glibc)", () => {
  test("timestamp pads the day with a space", () => {
    expect(syslogTimestamp(AT)).toBe(STAMP);
    expect(syslogTimestamp(new Date(2024, 11, 25, 23, 59, 9))).toBe("Dec 25 23:59:09");
  });

  test("facility daemon with each severity", () => {
    const pri = (level: "err" | "warning" | "notice" | "info" | "debug") =>
      formatRecord({ level, tag: "pmtr", pid: 7, message: "m", date: AT }).match(/^<(\d+)>/)![1];
    expect([pri("err"), pri("warning"), pri("notice"), pri("info"), pri("debug")]).toEqual(["27", "28", "29", "30", "31"]);
    expect(formatRecord({ level: "info", tag: "pmtr", pid: 4242, message: "pmtr: starting", date: AT }))
      .toBe(`<30>${STAMP} pmtr[4242]: pmtr: starting`);
  });

  test("control characters are made visible; tabs become spaces", () => {
    expect(sanitize("a\x1b[31mred\x07\r\nnext\tcol\x7f\x85")).toBe("a\\x1b[31mred\\x07\\x0d\\x0anext col\\x7f\\x85");
    expect(sanitize("héllo ✓")).toBe("héllo ✓");
  });

  test("a tag is one word", () => {
    expect(formatRecord({ level: "info", tag: "a b:c[d]", pid: 1, message: "x", date: AT })).toBe(`<30>${STAMP} a_b_c_d_[1]: x`);
  });
});

describe("sending to a socket", () => {
  test("absent socket: null, so the caller uses stderr", () => {
    expect(openSyslog(join(tempDir(), "no-such-log"))).toBeNull();
  });

  test("records arrive exactly, pmtr's and a job's", async () => {
    const { r } = await receiver();
    const log = openSyslog(r.address, () => AT)!;
    expect(log.send("notice", "pmtr", 100, "pmtr: starting")).toBe("sent");
    expect(log.send("info", "web", 4321, "GET / 200")).toBe("sent");
    expect(log.send("err", "web", 4321, "oops \x1b[0m")).toBe("sent");
    expect(await r.waitForCount(3)).toEqual([
      `<29>${STAMP} pmtr[100]: pmtr: starting`,
      `<30>${STAMP} web[4321]: GET / 200`,
      `<27>${STAMP} web[4321]: oops \\x1b[0m`,
    ]);
    log.close();
  });

  test("a huge record is cut, not refused", async () => {
    const { r } = await receiver();
    const log = openSyslog(r.address, () => AT)!;
    log.send("info", "big", 1, "é".repeat(MAX_RECORD_BYTES));
    const [record] = await r.waitForCount(1);
    expect(new TextEncoder().encode(record).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(record!.startsWith(`<30>${STAMP} big[1]: éé`)).toBe(true);
    expect(record!.includes("\ufffd")).toBe(false); // cut on a character boundary
    log.close();
  });

  test("a socket nobody listens on: 'unavailable', never a throw", async () => {
    const { r } = await receiver();
    const log = openSyslog(r.address)!;
    await r.stop(); // the socket file stays; sending to it is refused
    receivers.length = 0;
    expect(log.send("info", "pmtr", 1, "anyone?")).toBe("unavailable");
    log.close();
  });

  test("a stalled syslog: bounded queue, excess dropped and counted, then a notice", async () => {
    const dir = tempDir();
    const hold = join(dir, "go");
    const r = await DgramReceiver.start(join(dir, "log"), { hold });
    receivers.push(r);
    const log = openSyslog(r.address, () => AT)!;
    const total = 5000;
    const outcomes = new Map<SendOutcome, number>();
    for (let i = 0; i < total; i++) {
      const o = log.send("info", "flood", 9, `line ${i}`);
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      expect(log.queued).toBeLessThanOrEqual(MAX_QUEUED_RECORDS);
    }
    expect(outcomes.get("queued")).toBe(MAX_QUEUED_RECORDS);
    expect(outcomes.get("dropped")).toBeGreaterThan(0);
    expect(log.dropped).toBe(outcomes.get("dropped")!);

    writeFileSync(hold, ""); // syslogd wakes up
    const notice = await waitForNotice(r);
    const dropped = Number(notice.match(/dropped (\d+) syslog record/)![1]);
    const lines = r.records.filter((x) => x.includes("flood[9]: line "));
    // Nothing vanished unaccounted, and what arrived kept its order.
    expect(lines.length + dropped).toBe(total);
    const numbers = lines.map((x) => Number(x.split("line ")[1]));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(notice).toMatch(/^<28>.* pmtr\[\d+\]: dropped \d+ syslog record\(s\): syslog at .* did not accept them fast enough$/);
    expect(log.queued).toBe(0);
    log.close();
  });
});

function waitForNotice(r: DgramReceiver): Promise<string> {
  return waitFor("the drop notice", () => r.records.find((x) => x.includes("dropped ")));
}
