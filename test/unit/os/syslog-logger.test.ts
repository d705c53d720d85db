// pmtr's log sink: syslog when there is a socket, stderr in the foreground or when there is
// none, `<N>` prefixes instead of syslog under the journal. Records are asserted exactly on a
// real datagram socket; stderr is captured through the logger's writeStderr option.

import { afterEach, describe, expect, test } from "bun:test";
import { fstatSync } from "node:fs";
import { join, rmSync, tempDir } from "../../helpers.ts";
import { createLogger, isJournalStream, jobOutputSink, type LoggerOptions } from "../../../src/os/log/logger.ts";
import { DgramReceiver } from "./dgram-receiver.ts";

const receivers: DgramReceiver[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function syslogd(): Promise<DgramReceiver> {
  const dir = tempDir("pmtr-logger-");
  dirs.push(dir);
  const r = await DgramReceiver.start(join(dir, "log"));
  receivers.push(r);
  return r;
}

function logger(opts: Partial<LoggerOptions> & { syslogPath: string }) {
  const stderr: string[] = [];
  const log = createLogger({ foreground: false, verbose: 0, env: {}, writeStderr: (t) => stderr.push(t), ...opts });
  return { log, stderr };
}

/** The message part of a record: what follows the timestamp. */
const body = (record: string) => record.replace(/^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d /, "<$1>");
const PID = process.pid;

describe("with a syslog socket", () => {
  test("background: syslog only", async () => {
    const r = await syslogd();
    const { log, stderr } = logger({ syslogPath: r.address });
    log.log("info", "pmtr: starting");
    log.log("warning", "job web restarting too fast, delaying restart");
    expect((await r.waitForCount(2)).map(body)).toEqual([
      `<30>pmtr[${PID}]: pmtr: starting`,
      `<28>pmtr[${PID}]: job web restarting too fast, delaying restart`,
    ]);
    expect(stderr).toEqual([]);
    log.close();
  });

  test("foreground: syslog and stderr as pmtr[PID]: message", async () => {
    const r = await syslogd();
    const { log, stderr } = logger({ syslogPath: r.address, foreground: true });
    log.log("err", "pmtr.conf:4: unknown keyword \"bogus\"");
    expect((await r.waitForCount(1)).map(body)).toEqual([`<27>pmtr[${PID}]: pmtr.conf:4: unknown keyword "bogus"`]);
    expect(stderr).toEqual([`pmtr[${PID}]: pmtr.conf:4: unknown keyword "bogus"\n`]);
    log.close();
  });

  test("debug only with -v; a multi-line message is one record per line", async () => {
    const r = await syslogd();
    const quiet = logger({ syslogPath: r.address });
    quiet.log.log("debug", "hidden");
    quiet.log.log("info", "first\nsecond\n");
    const loud = logger({ syslogPath: r.address, verbose: 1 });
    loud.log.log("debug", "shown");
    expect((await r.waitForCount(3)).map(body)).toEqual([
      `<30>pmtr[${PID}]: first`, `<30>pmtr[${PID}]: second`, `<31>pmtr[${PID}]: shown`,
    ]);
    quiet.log.close();
    loud.log.close();
  });

  test("job lines: tagged with the job's name and pid, info for out, err for err, sanitised", async () => {
    const r = await syslogd();
    const { log, stderr } = logger({ syslogPath: r.address, foreground: true });
    log.jobLine("web", 4321, "out", "GET / 200");
    log.jobLine("web", 4321, "err", "bad \x1b[31mthing\x07");
    expect((await r.waitForCount(2)).map(body)).toEqual([`<30>web[4321]: GET / 200`, `<27>web[4321]: bad \\x1b[31mthing\\x07`]);
    expect(stderr).toEqual([]); // job lines are not echoed: their destination is syslog
    log.close();
  });
});

describe("without a syslog socket (a container)", () => {
  test("stderr even in the background, for pmtr and for job lines", () => {
    const dir = tempDir("pmtr-logger-");
    dirs.push(dir);
    const { log, stderr } = logger({ syslogPath: join(dir, "no-log") });
    log.log("info", "pmtr: starting");
    log.jobLine("web", 42, "err", "boom");
    expect(stderr).toEqual([`pmtr[${PID}]: pmtr: starting\n`, "web[42]: boom\n"]);
    log.close();
  });

  test("a socket nobody reads any more: stderr, never silence", async () => {
    const r = await syslogd();
    const { log, stderr } = logger({ syslogPath: r.address });
    await r.stop();
    receivers.length = 0;
    log.log("notice", "still here");
    expect(stderr).toEqual([`pmtr[${PID}]: still here\n`]);
    log.close();
  });
});

describe("under systemd's journal", () => {
  const ours = () => {
    const st = fstatSync(2, { bigint: true });
    return `${st.dev}:${st.ino}`;
  };

  test("JOURNAL_STREAM counts only when it names our stderr", () => {
    expect(isJournalStream(ours())).toBe(true);
    expect(isJournalStream("1:2")).toBe(false);
    expect(isJournalStream("garbage")).toBe(false);
    expect(isJournalStream(undefined)).toBe(false);
  });

  test("pmtr's messages: stderr with <N> prefixes, not syslog; job lines still to syslog", async () => {
    const r = await syslogd();
    const { log, stderr } = logger({ syslogPath: r.address, foreground: true, env: { JOURNAL_STREAM: ours() } });
    log.log("info", "pmtr: starting");
    log.log("err", "pmtr.conf:2: bad");
    log.jobLine("web", 7, "out", "hello"); // sentinel: once it arrives, nothing else came before it
    expect((await r.waitForCount(1)).map(body)).toEqual(["<30>web[7]: hello"]);
    expect(stderr).toEqual(["<6>pmtr: starting\n", "<3>pmtr.conf:2: bad\n"]);
    log.close();
  });

  test("a stale JOURNAL_STREAM (stderr redirected elsewhere) is ignored", async () => {
    const r = await syslogd();
    const { log, stderr } = logger({ syslogPath: r.address, foreground: true, env: { JOURNAL_STREAM: "1:2" } });
    log.log("info", "pmtr: starting");
    expect((await r.waitForCount(1)).map(body)).toEqual([`<30>pmtr[${PID}]: pmtr: starting`]);
    expect(stderr).toEqual([`pmtr[${PID}]: pmtr: starting\n`]);
    log.close();
  });
});

describe("jobOutputSink", () => {
  test("chunks of a job's pipe become one record per line", async () => {
    const r = await syslogd();
    const { log } = logger({ syslogPath: r.address });
    const sink = jobOutputSink(log, "web", 55, "err");
    sink.push(new TextEncoder().encode("first li"));
    sink.push(new TextEncoder().encode("ne\r\nsecond\nno newline"));
    sink.end();
    expect((await r.waitForCount(3)).map(body)).toEqual(["<27>web[55]: first line", "<27>web[55]: second", "<27>web[55]: no newline"]);
    log.close();
  });
});
