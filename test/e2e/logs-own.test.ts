// SPEC §13, pmtr's own messages and what `pmtr logs` shows without captured outputs: `-l FILE`
// (appended, reopened by `pmtr reopen` after a move), a start error appended to the job's err
// file, `pmtr logs -n` of direct out/err files (labelled) and of syslog / /dev/null outputs,
// and a detaching pmtr with no syslog that says where its messages go and writes them there.

import { describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { forAnyUser, join, PMTR, readOr, rmSync, runPmtr, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";
import { inPrivateDev } from "./private-dev.ts";

describe("pmtr's own log and pmtr logs (SPEC §13)", () => {
  test.concurrent("-l FILE gets every message; pmtr reopen after mv writes a new FILE", async () => {
    const dir = tempDir("pmtr-logs-own-");
    const conf = writeConfig(dir, `job {\n  name idle\n  cmd /bin/sleep 600\n}\n`);
    const logFile = join(dir, "pmtr.log");
    const sock = join(dir, "pmtr.sock");
    try {
      await withPmtr(["-F", "-c", conf, "-s", sock, "-l", logFile], {}, async (p) => {
        await p.waitLog("started job idle");
        await waitFor("the start line in -l FILE", () => readOr(logFile).includes("started job idle"));
        // Same lines as stderr, with a syslog-style timestamp and pmtr[PID].
        expect(readOr(logFile)).toMatch(new RegExp(`^[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d pmtr\\[${p.pid}\\]: pmtr: starting$`, "m"));
        renameSync(logFile, `${logFile}.1`);
        const r = await runPmtr(["-s", sock, "reopen"]);
        expect(r).toMatchObject({ code: 0, stdout: "log files reopened\n" });
        await waitFor("the reopen in the new FILE", () => readOr(logFile).includes("reopened 1 log file"));
        expect(readOr(`${logFile}.1`)).toContain("started job idle");
        expect(readOr(logFile)).not.toContain("started job idle");
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent("pmtr reopen when the -l file's directory is gone: the failure, and a count of what was reopened", async () => {
    const dir = tempDir("pmtr-logs-own-");
    const conf = writeConfig(dir, `job {\n  name idle\n  cmd /bin/sleep 600\n}\n`);
    const logDir = join(dir, "logs");
    mkdirSync(logDir);
    const sock = join(dir, "pmtr.sock");
    try {
      await withPmtr(["-F", "-c", conf, "-s", sock, "-l", join(logDir, "pmtr.log")], {}, async (p) => {
        await p.waitLog("started job idle");
        rmSync(logDir, { recursive: true, force: true });
        const r = await runPmtr(["-s", sock, "reopen"]);
        expect(r.code).not.toBe(0);
        await p.waitLog(/: reopened 0 log files \(1 failed\)$/m);
        expect(p.stderr).not.toMatch(/: reopened 1 log file/);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent("-l in a missing directory: exit 3 naming the file and the reason", async () => {
    const dir = tempDir("pmtr-logs-own-");
    const conf = writeConfig(dir, `job {\n  name idle\n  cmd /bin/sleep 600\n}\n`);
    try {
      const r = await runPmtr(["-F", "-c", conf, "-s", join(dir, "s"), "-l", join(dir, "no/such/pmtr.log")]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`cannot open log file ${join(dir, "no/such/pmtr.log")} (-l): No such file or directory`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent("a failed start is appended to the err file; pmtr logs shows out and err labelled, and says where syslog and /dev/null go", async () => {
    const dir = tempDir("pmtr-logs-own-");
    const conf = writeConfig(dir, `
job {
  name web
  cmd /bin/sleep 600
  dir ${dir}/missing
  err ${dir}/web.err
}
job {
  name talk
  cmd /bin/sh -c "for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; done; exec sleep 600"
  dir ${dir}
  out talk.out
  err talk.err
}
job {
  name quiet
  cmd /bin/sleep 600
  err syslog
}
`);
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "s")], {}, async (p) => {
        await p.waitLog("job web failed to start");
        await waitFor("the reason in web.err", () => readOr(join(dir, "web.err")).includes("pmtr: cannot start web"));
        expect(readOr(join(dir, "web.err"))).toBe(`pmtr: cannot start web: dir: chdir ${dir}/missing: No such file or directory\n`);
        const web = await runPmtr(["logs", "-c", conf, "web"]);
        expect(web.code).toBe(0);
        expect(web.stdout).toBe(`pmtr: cannot start web: dir: chdir ${dir}/missing: No such file or directory\n`);
        expect(web.stderr).toBe("job web: stdout is discarded (out /dev/null)\n");

        await waitFor("talk's 5 lines", () => readOr(join(dir, "talk.err")).includes("err 5"));
        const talk = await runPmtr(["-c", conf, "logs", "talk", "-n", "2"]);
        expect(talk).toMatchObject({ code: 0, stdout: `==> ${dir}/talk.out <==\nout 4\nout 5\n\n==> ${dir}/talk.err <==\nerr 4\nerr 5\n` });

        const quiet = await runPmtr(["logs", "-c", conf, "quiet"]);
        expect(quiet.stdout).toContain("job quiet: stdout is discarded (out /dev/null)");
        expect(quiet.stdout).toMatch(/job quiet: stderr goes to syslog(: journalctl -t quiet|, tagged quiet|, but there is no syslog at \/dev\/log: pmtr writes the lines to its own stderr as "quiet\[PID\]: line")/);

        const unknown = await runPmtr(["logs", "-c", conf, "nope"]);
        expect(unknown).toMatchObject({ code: 4, stderr: `pmtr: no job named "nope" in ${conf}\n` });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pmtr logs of a job with instances (SPEC §15)", () => {
  test.concurrent("the base name shows every instance's file, labelled; an instance name its own", async () => {
    const dir = tempDir("pmtr-logs-inst-");
    const conf = writeConfig(dir, `job {\n  name w\n  cmd /bin/sleep 600\n  dir ${dir}\n  out w.%i.log\n  instances 2\n}\n`);
    writeFileSync(join(dir, "w.1.log"), "one a\none b\n");
    writeFileSync(join(dir, "w.2.log"), "two a\ntwo b\n");
    try {
      const all = await runPmtr(["logs", "-c", conf, "w", "-n", "1"]);
      expect(all).toMatchObject({ code: 0, stdout: `==> ${dir}/w.1.log <==\none b\n\n==> ${dir}/w.2.log <==\ntwo b\n` });
      expect(all.stderr).toBe("job w.1: stderr is discarded (err /dev/null)\njob w.2: stderr is discarded (err /dev/null)\n");
      const one = await runPmtr(["logs", "-c", conf, "w.2"]);
      expect(one).toMatchObject({ code: 0, stdout: "two a\ntwo b\n" });
      const none = await runPmtr(["logs", "-c", conf, "w.3"]);
      expect(none).toMatchObject({ code: 4, stderr: `pmtr: no job named "w.3" in ${conf}\n` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("detaching with no syslog (SPEC §13: never nowhere)", () => {
  test.concurrent("says where messages will go and writes them there, with the jobs' `out syslog` lines", async () => {
    const dir = tempDir("pmtr-logs-detach-");
    const conf = writeConfig(dir, `job {\n  name idle\n  cmd /bin/sleep 600\n}\njob {\n  name talk\n  cmd /bin/sh -c "echo said-to-syslog; exec /bin/sleep 600"\n  out syslog\n}\n`);
    const state = join(dir, "state");
    const pidfile = join(dir, "pmtr.pid");
    // As an ordinary user, so the file is under XDG_STATE_HOME and the test touches nothing
    // outside its directory (as root it is /var/log/pmtr.log).
    Bun.spawnSync(["chown", "-R", "nobody", dir]);
    const proc = Bun.spawn([...inPrivateDev(dir), // a /dev of its own with no /dev/log, whatever the host has
      "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", `XDG_STATE_HOME=${state}`, `XDG_RUNTIME_DIR=${dir}`,
      forAnyUser(PMTR), "-c", conf, "-p", pidfile, "-s", join(dir, "pmtr.sock")], { stdout: "pipe", stderr: "pipe" });
    try {
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: `pmtr: no syslog at /dev/log: pmtr's messages go to ${state}/pmtr.log (choose another file with -l FILE)\n` });
      const pid = Number(readOr(pidfile).trim());
      await waitFor("the job's start in the log file", () => readOr(`${state}/pmtr.log`).includes("started job idle"));
      expect(readOr(`${state}/pmtr.log`)).toContain(`pmtr[${pid}]: pmtr: managing 2 jobs`);
      // No syslog to take the job's line, and stderr is /dev/null: it is in the file, as syslog
      // would have stored it (tagged with the job's name and pid).
      await waitFor("talk's line in the log file", () => /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d talk\[\d+\]: said-to-syslog$/m.test(readOr(`${state}/pmtr.log`)));
      process.kill(pid, "SIGTERM");
      await waitFor("the exit line", () => readOr(`${state}/pmtr.log`).includes("exiting on signal 15"), 15_000);
    } finally {
      const pid = Number(readOr(pidfile).trim());
      if (pid > 0) try { process.kill(pid, "SIGKILL"); } catch {}
      writeFileSync(join(dir, ".done"), "");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
