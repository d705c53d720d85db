// SPEC §7 logging end to end with the real binary: dist/pmtr logs to /dev/log, so each pmtr here
// runs in a private mount namespace whose /dev is a small tmpfs holding the usual device nodes
// (bind-mounted from the host's /dev) and, as /dev/log, the socket a DgramReceiver bound in the
// test's temp dir. Nothing is ever created in the host's /dev, and the receiver sees exactly the
// records a syslogd would.

import { describe, expect, test } from "bun:test";
import { Pmtr, cleanupPmtr, isAlive, join, readOr, rmSync, startedPids, tempDir, waitFor, writeConfig } from "../helpers.ts";
import { DgramReceiver } from "../unit/os/dgram-receiver.ts";
import { inPrivateDev } from "./private-dev.ts";

/** A record as glibc's syslog(3) writes it: `<PRI>Mmm dd hh:mm:ss TAG[PID]: message`. */
const RECORD = /^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([^\s[\]:]+)\[(\d+)\]: (.*)$/s;

/** Every record without its timestamp, `<PRI>TAG[PID]: message`; a malformed one as it came. */
const bodies = (records: readonly string[]) => records.map((r) => {
  const m = r.match(RECORD);
  return m ? `<${m[1]}>${m[2]}[${m[3]}]: ${m[4]}` : `MALFORMED ${JSON.stringify(r)}`;
});

const lines = (text: string) => text.split("\n").filter(Boolean);

// Facility daemon (3) * 8 + severity.
const ERR = 27;
const NOTICE = 29;
const INFO = 30;

/**
 * `talker` writes stdout and stderr lines (one in two writes 0.3 s apart, one CRLF-ended, one
 * with a tab and a terminal escape), then idles; `counter` writes 300 lines at once and exits;
 * `broken` cannot start (its dir is missing), an error-level message.
 */
function jobsConfig(dir: string): string {
  return writeConfig(dir, `
job {
  name talker
  cmd /bin/sh -c "echo out-line; echo err-line >&2; printf 'half'; sleep 0.3; printf ' line\\r\\n'; printf 'tab\\there \\033[31mred\\n'; echo done > ${dir}/talked; exec sleep 600"
  out syslog
  err syslog
}
job {
  name counter
  cmd /usr/bin/seq 1 300
  out syslog
  once
}
job {
  name broken
  cmd /bin/true
  dir ${dir}/missing
}
`);
}

/** `broken`'s start failure after `prefix`: the step, then the OS error naming the dir. */
const failedToStart = (prefix: string, dir: string) => new RegExp(`^${prefix}job broken failed to start: dir: (chdir )?${dir}/missing: No such file or directory$`);

/** What each job sent, as `<PRI>TAG[PID]: line` with the pids pmtr logged. */
function expectedJobLines(log: string): { talker: string[]; talkerErr: string[]; counter: string[] } {
  const talker = startedPids(log, "talker")[0]!;
  const counter = startedPids(log, "counter")[0]!;
  return {
    talker: [`<${INFO}>talker[${talker}]: out-line`, `<${INFO}>talker[${talker}]: half line`, `<${INFO}>talker[${talker}]: tab here \\x1b[31mred`],
    talkerErr: [`<${ERR}>talker[${talker}]: err-line`],
    counter: Array.from({ length: 300 }, (_, i) => `<${INFO}>counter[${counter}]: ${i + 1}`),
  };
}

/**
 * Runs pmtr -F on `jobsConfig` in a private /dev (with `syslog` as /dev/log, or none) until
 * every job has done its part and the last of each job's lines has reached `linesTo`, then
 * stops it (exit 0); returns its stderr and pid. (Waiting for delivery keeps these tests about
 * where lines go; what happens to lines still queued at exit is tested on its own.)
 */
async function runJobs(dir: string, syslog: DgramReceiver | null, linesTo: "syslog" | "stderr", journal: "" | "stderr" | "stdout" = "") {
  const conf = jobsConfig(dir);
  const p = new Pmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], { wrap: inPrivateDev(dir, syslog?.address ?? "", journal) });
  try {
    await waitFor("talker to have written everything", () => readOr(join(dir, "talked")) !== "", 5000);
    await p.waitLog(/job counter ran once, will not be restarted/);
    await p.waitLog(/job broken restarting too fast, delaying restart/);
    const last = [/^talker\[\d+\]: err-line$/m, /^talker\[\d+\]: tab here /m, /^counter\[\d+\]: 300$/m];
    await waitFor(`the jobs' last lines on ${linesTo}`, () => {
      const text = linesTo === "stderr" ? p.stderr : bodies(syslog!.records).map((r) => r.replace(/^<\d+>/, "")).join("\n");
      return last.every((re) => re.test(text));
    });
    const code = await p.stop();
    expect(code).toBe(0);
    return { stderr: p.stderr, pid: p.pid };
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- pmtr stderr ---\n${p.stderr}\n--- syslog ---\n${(syslog?.records ?? []).join("\n")}`;
    throw e;
  } finally {
    await cleanupPmtr(p);
  }
}

const FLUSH = "pmtr-e2e: end of records";

/** Every record pmtr sent, once it has exited: a marker sent after it is received last (one
 *  socket, one queue), so everything before it has been received. The marker is left out. */
async function allRecords(syslog: DgramReceiver): Promise<string[]> {
  const send = "import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(sys.argv[2].encode(), sys.argv[1])";
  expect(Bun.spawnSync(["python3", "-c", send, syslog.address, FLUSH]).exitCode).toBe(0);
  await waitFor("the end-of-records marker", () => syslog.records.includes(FLUSH));
  return syslog.records.slice(0, syslog.records.indexOf(FLUSH));
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir("pmtr-ops-syslog-");
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withSyslog<T>(fn: (dir: string, syslog: DgramReceiver) => Promise<T>): Promise<T> {
  return withDir(async (dir) => {
    const syslog = await DgramReceiver.start(join(dir, "log.sock"));
    try {
      return await fn(dir, syslog);
    } finally {
      await syslog.stop();
    }
  });
}

describe("logging to syslog (SPEC §7) with /dev/log", () => {
  test.concurrent("foreground: pmtr's messages to syslog (ident pmtr, daemon, pid) and the same on stderr; job lines tagged NAME[PID], info/err", () =>
    withSyslog(async (dir, syslog) => {
      const { stderr, pid } = await runJobs(dir, syslog, "syslog");
      const want = expectedJobLines(stderr);
      const got = bodies(await allRecords(syslog));
      const own = got.filter((r) => /^<\d+>pmtr\[/.test(r));

      // Every record well formed; pmtr's own carry its pid, and say on syslog exactly what
      // stderr says, in the same order.
      expect(got.filter((r) => r.startsWith("MALFORMED"))).toEqual([]);
      expect(own.map((r) => r.replace(/^<\d+>/, ""))).toEqual(lines(stderr));
      expect(lines(stderr).every((l) => l.startsWith(`pmtr[${pid}]: `))).toBe(true);

      // SPEC §7 wording, at its priority.
      const talker = startedPids(stderr, "talker")[0]!;
      for (const record of [
        `<${NOTICE}>pmtr[${pid}]: pmtr: starting`,
        `<${NOTICE}>pmtr[${pid}]: pmtr: managing 3 jobs`,
        `<${INFO}>pmtr[${pid}]: started job talker [${talker}]`,
        `<${NOTICE}>pmtr[${pid}]: job broken restarting too fast, delaying restart`,
        `<${INFO}>pmtr[${pid}]: job counter ran once, will not be restarted`,
        `<${NOTICE}>pmtr[${pid}]: pmtr: exiting on signal 15`,
        `<${INFO}>pmtr[${pid}]: sending SIGTERM to job talker [${talker}]`,
      ]) expect(got).toContain(record);
      expect(got).toContainEqual(expect.stringMatching(new RegExp(`^<${INFO}>pmtr\\[${pid}\\]: job talker \\[${talker}\\] exited after \\d+ sec: killed by SIGTERM$`)));
      expect(got).toContainEqual(expect.stringMatching(failedToStart(`<${ERR}>pmtr\\[${pid}\\]: `, dir)));

      // Job lines: each stream in order, reassembled, sanitised, none lost, none on stderr.
      expect(got.filter((r) => r.startsWith(`<${INFO}>talker[`))).toEqual(want.talker);
      expect(got.filter((r) => r.startsWith(`<${ERR}>talker[`))).toEqual(want.talkerErr);
      expect(got.filter((r) => r.includes("counter[") && !r.includes("pmtr["))).toEqual(want.counter);
      expect(stderr).not.toContain("out-line");
      expect(stderr).not.toContain("err-line");
    }), 15000);

  test.concurrent("under the journal (JOURNAL_STREAM names pmtr's stderr): stderr lines with <N> prefixes, nothing of pmtr's to syslog; job lines still to syslog", () =>
    withSyslog(async (dir, syslog) => {
      const { stderr } = await runJobs(dir, syslog, "syslog", "stderr");
      // startedPids reads `...: started job NAME [PID]` lines.
      const unprefixed = stderr.replace(/^<\d>/gm, "pmtr: ");
      const want = expectedJobLines(unprefixed);
      const talker = startedPids(unprefixed, "talker")[0]!;

      expect(lines(stderr).filter((l) => !/^<[0-7]>\S/.test(l))).toEqual([]);
      for (const line of [
        "<5>pmtr: starting",
        "<5>pmtr: managing 3 jobs",
        `<6>started job talker [${talker}]`,
        "<5>job broken restarting too fast, delaying restart",
        "<5>pmtr: exiting on signal 15",
      ]) expect(lines(stderr)).toContain(line);
      expect(lines(stderr)).toContainEqual(expect.stringMatching(failedToStart("<3>", dir)));

      const got = bodies(await allRecords(syslog));
      expect(got.filter((r) => r.includes("pmtr["))).toEqual([]);
      expect(got.filter((r) => r.startsWith(`<${INFO}>talker[`))).toEqual(want.talker);
      expect(got.filter((r) => r.startsWith(`<${ERR}>talker[`))).toEqual(want.talkerErr);
      expect(got.filter((r) => r.includes("counter["))).toEqual(want.counter);
    }), 15000);

  test.concurrent("JOURNAL_STREAM naming another stream (stdout) is not the journal: syslog and pmtr[PID]: on stderr", () =>
    withSyslog(async (dir, syslog) => {
      const { stderr, pid } = await runJobs(dir, syslog, "syslog", "stdout");
      expect(lines(stderr).every((l) => l.startsWith(`pmtr[${pid}]: `))).toBe(true);
      const own = bodies(await allRecords(syslog)).filter((r) => /^<\d+>pmtr\[/.test(r));
      expect(own.map((r) => r.replace(/^<\d+>/, ""))).toEqual(lines(stderr));
    }), 15000);

  test.concurrent("in the background (no -F): pmtr's messages and job lines to syslog from the daemon's pid; the command prints nothing", () =>
    withSyslog(async (dir, syslog) => {
      const conf = writeConfig(dir, `
job {
  name talker
  cmd /bin/sh -c "echo background-out; echo background-err >&2; exec sleep 600"
  out syslog
  err syslog
}
`);
      const pidfile = join(dir, "pmtr.pid");
      const launcher = new Pmtr(["-c", conf, "-p", pidfile, "-s", join(dir, "pmtr.sock")], { wrap: inPrivateDev(dir, syslog.address) });
      let daemon = 0;
      try {
        expect(await launcher.proc.exited).toBe(0);
        daemon = Number(readOr(pidfile).trim());
        expect(daemon).toBeGreaterThan(0);
        expect(daemon).not.toBe(launcher.pid);
        await waitFor("the job's lines in syslog", () => syslog.records.filter((r) => r.includes("background-")).length === 2);
        const got = bodies(syslog.records);
        const job = Number(got.find((r) => r.startsWith(`<${INFO}>pmtr[${daemon}]: started job talker [`))?.match(/\[(\d+)\]$/)?.[1]);
        expect(got).toContain(`<${NOTICE}>pmtr[${daemon}]: pmtr: starting`);
        expect(got).toContain(`<${NOTICE}>pmtr[${daemon}]: pmtr: managing 1 job`);
        expect(got).toContain(`<${INFO}>talker[${job}]: background-out`);
        expect(got).toContain(`<${ERR}>talker[${job}]: background-err`);

        process.kill(daemon, "SIGTERM");
        await waitFor("the exit message in syslog", () => syslog.records.some((r) => r.endsWith(`pmtr[${daemon}]: pmtr: exiting on signal 15`)));
        await waitFor("the daemon to exit", () => !isAlive(daemon));
        expect(launcher.stderr).toBe("");
        expect(launcher.stdout).toBe("");
      } catch (e) {
        if (e instanceof Error) e.message += `\n--- launcher stderr ---\n${launcher.stderr}\n--- syslog ---\n${syslog.records.join("\n")}`;
        throw e;
      } finally {
        await cleanupPmtr(launcher);
        if (daemon > 0 && isAlive(daemon)) process.kill(daemon, "SIGKILL");
        for (const m of syslog.records.join("\n").matchAll(/started job \S+ \[(\d+)\]/g)) {
          try {
            process.kill(-Number(m[1]), "SIGKILL");
          } catch {}
        }
      }
    }), 15000);
});

/** With no syslog to take them, pmtr's messages (each once) and every job line on stderr. */
function expectAllOnStderr(stderr: string, pid: number, dir: string): void {
  const want = expectedJobLines(stderr);
  const strip = (records: string[]) => records.map((r) => r.replace(/^<\d+>/, ""));
  const own = lines(stderr).filter((l) => l.startsWith(`pmtr[${pid}]: `));
  const jobs = lines(stderr).filter((l) => !l.startsWith(`pmtr[${pid}]: `));
  expect(jobs.filter((l) => l.startsWith("talker[") && !l.endsWith("err-line"))).toEqual(strip(want.talker));
  expect(jobs.filter((l) => l.startsWith("talker[") && l.endsWith("err-line"))).toEqual(strip(want.talkerErr));
  expect(jobs.filter((l) => l.startsWith("counter["))).toEqual(strip(want.counter));
  expect(jobs.length).toBe(want.talker.length + want.talkerErr.length + want.counter.length);
  for (const message of ["pmtr: starting", "pmtr: managing 3 jobs", "job counter ran once, will not be restarted", "pmtr: exiting on signal 15"]) {
    expect(own.filter((l) => l === `pmtr[${pid}]: ${message}`)).toHaveLength(1);
  }
  expect(own).toContainEqual(expect.stringMatching(failedToStart(`pmtr\\[${pid}\\]: `, dir)));
  expect(new Set(own).size).toBe(own.length); // nothing written twice
}

describe("a busy syslog at exit", () => {
  /** pmtr -F with /dev/log a receiver that reads nothing until `hold` exists, and a job whose 50
   *  lines fill the socket's queue: pmtr queues the rest. */
  async function withStalledSyslog(fn: (p: Pmtr, syslog: DgramReceiver, hold: string) => Promise<void>): Promise<void> {
    return withDir(async (dir) => {
      const hold = join(dir, "go");
      const syslog = await DgramReceiver.start(join(dir, "log.sock"), { hold });
      const conf = writeConfig(dir, "job {\n  name burst\n  cmd /usr/bin/seq 1 50\n  out syslog\n  once\n}\n");
      const p = new Pmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], { wrap: inPrivateDev(dir, syslog.address) });
      try {
        await p.waitLog("job burst ran once, will not be restarted");
        await fn(p, syslog, hold);
      } catch (e) {
        if (e instanceof Error) e.message += `\n--- pmtr stderr ---\n${p.stderr}\n--- syslog ---\n${syslog.records.join("\n")}`;
        throw e;
      } finally {
        await cleanupPmtr(p);
        await syslog.stop();
      }
    });
  }

  test.concurrent("records still queued when pmtr exits reach a syslog that catches up", () =>
    withStalledSyslog(async (p, syslog, hold) => {
      // syslogd catches up a moment after the SIGTERM, by when pmtr (no job left to stop) is
      // already exiting with its queue full.
      const wakeUp = Bun.spawn(["/bin/sh", "-c", 'sleep 0.1; : > "$0"', hold]);
      p.proc.kill("SIGTERM");
      expect(await p.stop()).toBe(0);
      await wakeUp.exited;
      const got = bodies(await allRecords(syslog));
      const burst = startedPids(p.stderr, "burst")[0]!;
      expect(got.filter((r) => r.includes("burst[") && !r.includes("pmtr["))).toEqual(Array.from({ length: 50 }, (_, i) => `<${INFO}>burst[${burst}]: ${i + 1}`));
      expect(got).toContain(`<${NOTICE}>pmtr[${p.pid}]: pmtr: exiting on signal 15`);
    }), 15000);

  test.concurrent("a syslog that never catches up: pmtr still exits, and says on stderr how many records were not delivered", () =>
    withStalledSyslog(async (p) => {
      expect(await p.stop()).toBe(0);
      expect(p.stderr).toMatch(new RegExp(`^pmtr\\[${p.pid}\\]: \\d+ syslog record\\(s\\) not delivered: syslog at /dev/log did not accept them before pmtr exited$`, "m"));
    }), 15000);
});

describe("logging without syslog", () => {
  test.concurrent("no /dev/log (a container): everything on stderr, job lines as NAME[PID]: line, none lost", () =>
    withDir(async (dir) => {
      const { stderr, pid } = await runJobs(dir, null, "stderr");
      expectAllOnStderr(stderr, pid, dir);
    }), 15000);

  test.concurrent("a /dev/log nobody listens on (syslogd stopped): stderr instead, each message once", () =>
    withDir(async (dir) => {
      const stale = await DgramReceiver.start(join(dir, "log.sock"));
      await stale.stop(); // the socket file stays, refusing connections
      const { stderr, pid } = await runJobs(dir, stale, "stderr");
      expectAllOnStderr(stderr, pid, dir);
    }), 15000);
});
