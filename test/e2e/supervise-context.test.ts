// SPEC §3 end to end: dist/pmtr starts test/fixtures/probe.sh as a job, the probe copies what
// it was given from /proc into a report directory, and each property is checked there. pmtr
// itself is started in a hostile context (umask 077, SIGHUP ignored, an inherited fd without
// close-on-exec) so that a job inheriting any of it shows. Failed starts: logged once per
// attempt, delayed like quick exits, and pmtr carries on with its other jobs.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dlopen } from "bun:ffi";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { FIXTURES, forAnyUser, isAlive, join, readOr, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig, existsSync } from "../helpers.ts";

// Run as a script (`/bin/sh probe.sh DIR`: a `cmd` line cannot hold its text for `sh -c`, and
// any wrapper shell would change what it reports: dash rewrites PWD and empties its signal mask
// once it has waited for a child). The one fd the shell itself holds, the script, is left out.
const PROBE = forAnyUser(join(FIXTURES, "probe.sh"));
const ARGV = forAnyUser(join(FIXTURES, "supervise/argv.sh"));
/** Runs pmtr with umask 077, SIGHUP, SIGUSR2 and SIGWINCH ignored and fd 7 open without
 *  close-on-exec (and, from beforeAll, SIGWINCH and SIGUSR2 blocked). */
const HOSTILE = ["/bin/sh", "-c", 'umask 077; trap "" HUP USR2 WINCH; exec 7</dev/null; exec "$0" "$@"'];

// Bun.spawn gives a child the signal mask of the calling thread: block two signals here while
// this file runs, so pmtr starts with them blocked and a job inheriting that mask shows.
const libc = dlopen("libc.so.6", { sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" } }).symbols;
const BLOCKED = new BigUint64Array(16);
BLOCKED[0] = (1n << 27n) | (1n << 11n); // SIGWINCH (28), SIGUSR2 (12)
beforeAll(() => void libc.sigprocmask(0 /* SIG_BLOCK */, BLOCKED, null));
afterAll(() => void libc.sigprocmask(1 /* SIG_UNBLOCK */, BLOCKED, null));

const statusField = (status: string, name: string) => status.match(new RegExp(`^${name}:[ \\t]*(.*)$`, "m"))?.[1]?.trim();
const limitsLine = (limits: string, name: string) => limits.split("\n").find((l) => l.startsWith(name))?.slice(26).trim().split(/\s+/).slice(0, 2);
const environ = (text: string) => Object.fromEntries(text.split("\0").filter(Boolean).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
/** pmtr's environment as its jobs inherit it: /proc/PID/environ less the runtime options pmtr
 *  executed itself with and removed at once (src/os/self/runtime-threads.ts). */
const pmtrEnviron = (pid: number) => Object.fromEntries(Object.entries(environ(readFileSync(`/proc/${pid}/environ`, "utf8"))).filter(([k]) => !k.startsWith("BUN_JSC_")));

/** A directory the probe can write its report into, even as nobody. */
function reportDir(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  return dir;
}

/** Everything the probe recorded. */
async function context(report: string) {
  await waitFor(`probe report in ${report}`, () => existsSync(join(report, "done")));
  const read = (f: string) => readFileSync(join(report, f), "utf8");
  const status = read("status");
  const stat = read("stat").slice(read("stat").lastIndexOf(")") + 2).split(" ");
  return {
    cwd: read("cwd").trim(),
    env: environ(read("environ")),
    fds: Object.fromEntries(
      read("fds").split("\n").filter((l) => l.includes(" -> ")).map((l) => l.split(" -> "))
        .filter(([, target]) => target !== PROBE)
        .map(([left, target]) => [left!.trim().split(/\s+/).pop()!, target!]),
    ),
    umask: read("umask").trim(),
    sigIgn: statusField(status, "SigIgn"),
    sigBlk: statusField(status, "SigBlk"),
    cpus: statusField(status, "Cpus_allowed_list"),
    uid: statusField(status, "Uid"),
    gid: statusField(status, "Gid"),
    groups: statusField(status, "Groups"),
    limits: read("limits"),
    pgrp: Number(stat[2]),
    session: Number(stat[3]),
    nice: Number(stat[16]),
    stdin: read("stdin"),
  };
}

/** The last CPU this process may run on: an affinity that differs from the default when there are several. */
function lastCpu(): number {
  const list = statusField(readFileSync("/proc/self/status", "utf8"), "Cpus_allowed_list")!;
  return Number(list.split(",").pop()!.split("-").pop());
}

describe("the context of a started job (SPEC §3)", () => {
  test.concurrent("as root: cwd, env, stdio appended, only fds 0-2, umask 022, own session, clean signals, NOFILE 1024, nice 0", async () => {
    const root = tempDir("pmtr-sv-ctx-");
    chmodSync(root, 0o755);
    const work = reportDir(root, "work");
    writeFileSync(join(work, "input.txt"), "hello from in\n");
    writeFileSync(join(work, "err.log"), "old line\n");
    const conf = writeConfig(root, `
job {
  name plain
  cmd /bin/sh ${PROBE} ${work}
  dir ${work}
  in input.txt
  out out.log
  err err.log
  env PROBE_A=1
  env PROBE_B="two words"
  env PROBE_A=again
  once
}
`);
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(root, "pmtr.sock")], { wrap: HOSTILE }, async (p) => {
        await p.waitLog(/: job plain ran once, will not be restarted$/m);
        const [pid] = startedPids(p.stderr, "plain");
        expect(pid).toBeGreaterThan(0);
        const ctx = await context(work);
        const pmtrEnv = pmtrEnviron(p.pid);
        // The hostile context reached pmtr (its mask it empties itself at start, so that is seen
        // on the test's thread, whose mask Bun.spawn passes on), so the job's clean one is pmtr's doing.
        expect(BigInt(`0x${statusField(readFileSync("/proc/self/status", "utf8"), "SigBlk")}`) & 0x8000800n).toBe(0x8000800n);
        // (pmtr's own fd 7 is gone by now: Bun marks inherited fds close-on-exec, and pmtr
        // executes itself once at start, src/os/self/runtime-threads.ts. The job's fds are checked below.)

        expect(ctx.cwd).toBe(work);
        expect(ctx.env).toEqual({ ...pmtrEnv, PROBE_A: "again", PROBE_B: "two words" });
        expect(ctx.fds).toEqual({ "0": join(work, "input.txt"), "1": join(work, "out.log"), "2": join(work, "err.log") });
        expect(ctx.stdin).toBe("hello from in\n");
        expect(ctx.umask).toBe("0022");
        expect([ctx.pgrp, ctx.session]).toEqual([pid!, pid!]);
        expect([ctx.sigIgn, ctx.sigBlk]).toEqual(["0000000000000000", "0000000000000000"]);
        const limits = readFileSync("/proc/self/limits", "utf8");
        const hardNofile = limitsLine(limits, "Max open files")![1]!;
        expect(limitsLine(ctx.limits, "Max open files")).toEqual([String(Math.min(1024, Number(hardNofile))), hardNofile]);
        const others = (l: string) => l.split("\n").filter((x) => !x.startsWith("Max open files")).join("\n");
        expect(others(ctx.limits)).toBe(others(limits));
        expect(ctx.nice).toBe(0);
        expect(ctx.cpus).toBe(statusField(readFileSync("/proc/self/status", "utf8"), "Cpus_allowed_list"));

        expect(p.stderr).toMatch(new RegExp(`: job plain \\[${pid}\\] exited after 0 sec: exit status 0$`, "m"));
        expect(readFileSync(join(work, "out.log"), "utf8")).toBe(`out ${pid}\n`);
        // Created 0644 although pmtr's own umask is 077.
        expect(statSync(join(work, "out.log")).mode & 0o777).toBe(0o644);
        expect(readFileSync(join(work, "err.log"), "utf8")).toBe(`old line\nerr ${pid}\n`);
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test.concurrent("as nobody: uid/gid/groups, HOME USER LOGNAME SHELL (env wins), nice, cpu, ulimits, files created as the user", async () => {
    const root = tempDir("pmtr-sv-ctx-");
    chmodSync(root, 0o755);
    const tuned = reportDir(root, "tuned");
    const bare = reportDir(root, "bare");
    const cpu = lastCpu();
    const conf = writeConfig(root, `
job {
  name tuned
  cmd /bin/sh ${PROBE} ${tuned}
  dir ${tuned}
  out out.log
  err err.log
  user nobody
  env HOME=/from-env
  nice 7
  cpu ${cpu}
  ulimit -n 4096
  ulimit -c unlimited
  ulimit -n 2048
  once
}
job {
  name bare
  cmd /bin/sh ${PROBE} ${bare}
  user nobody
  once
}
`);
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(root, "pmtr.sock")], { wrap: HOSTILE }, async (p) => {
        await p.waitLog(/: job tuned ran once, will not be restarted$/m);
        await p.waitLog(/: job bare ran once, will not be restarted$/m);
        const pmtrEnv = pmtrEnviron(p.pid);
        const ctx = await context(tuned);
        const [pid] = startedPids(p.stderr, "tuned");
        expect(ctx.uid).toBe("65534\t65534\t65534\t65534");
        expect(ctx.gid).toBe("65534\t65534\t65534\t65534");
        expect(ctx.groups).toBe("65534");
        expect(ctx.env).toEqual({ ...pmtrEnv, HOME: "/from-env", USER: "nobody", LOGNAME: "nobody", SHELL: "/usr/sbin/nologin" });
        expect(ctx.nice).toBe(7);
        expect(ctx.cpus).toBe(String(cpu));
        expect(limitsLine(ctx.limits, "Max open files")).toEqual(["2048", "2048"]);
        expect(limitsLine(ctx.limits, "Max core file size")).toEqual(["unlimited", "unlimited"]);
        expect(ctx.cwd).toBe(tuned);
        expect(ctx.umask).toBe("0022");
        expect([ctx.pgrp, ctx.session]).toEqual([pid!, pid!]);
        expect([ctx.sigIgn, ctx.sigBlk]).toEqual(["0000000000000000", "0000000000000000"]);
        expect(Object.keys(ctx.fds)).toEqual(["0", "1", "2"]);
        for (const f of ["out.log", "err.log"]) {
          const st = statSync(join(tuned, f));
          expect([f, st.uid, st.gid, st.mode & 0o777]).toEqual([f, 65534, 65534, 0o644]);
        }
        expect(readOr(join(tuned, "out.log"))).toBe(`out ${pid}\n`);

        const plain = await context(bare);
        expect(plain.uid).toBe("65534\t65534\t65534\t65534");
        expect(plain.env).toEqual({ ...pmtrEnv, HOME: "/nonexistent", USER: "nobody", LOGNAME: "nobody", SHELL: "/usr/sbin/nologin" });
        expect(plain.cwd).toBe("/");
        expect(plain.fds).toEqual({ "0": "/dev/null", "1": "/dev/null", "2": "/dev/null" });
        expect(plain.nice).toBe(0);
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test.concurrent("argv exactly as written: quoted words, an empty word, no glob, no variable expansion", async () => {
    const root = tempDir("pmtr-sv-argv-");
    const conf = writeConfig(root, `
job {
  name argv
  cmd ${ARGV} ${root}/args "two words" "" * $HOME
}
`);
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(root, "pmtr.sock")], {}, async (p) => {
        await p.waitLog(/: job argv exited with status 33, will not be restarted$/m);
        expect(readFileSync(join(root, "args"), "utf8").split("\0").slice(0, -1)).toEqual(["two words", "", "*", "$HOME"]);
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("a start that fails (SPEC §3)", () => {
  test.concurrent("is logged once per attempt with the step and the OS error, delayed 10 s, and pmtr runs its other jobs", async () => {
    const root = tempDir("pmtr-sv-fail-");
    const notExec = join(root, "not-executable");
    writeFileSync(notExec, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    const conf = writeConfig(root, `
job {
  name nodir
  cmd /bin/sleep 600
  dir ${root}/missing-dir
}
job {
  name nouser
  cmd /bin/sleep 600
  user no-such-user-pmtr
}
job {
  name noexec
  cmd ${notExec}
}
job {
  name noout
  cmd /bin/sleep 600
  user nobody
  out ${root}/noout.log
}
job {
  name good
  cmd /bin/sleep 600
}
`);
    const failures: Array<[string, RegExp]> = [
      ["nodir", /: job nodir failed to start: dir: .*No such file or directory$/],
      ["nouser", /: job nouser failed to start: user: .*no-such-user-pmtr/],
      ["noexec", /: job noexec failed to start: exec: .*Permission denied$/],
      // The file is opened as the job's user (root may create it, nobody may not): say which.
      ["noout", /: job noout failed to start: out: open \/.*\/noout\.log as user nobody: Permission denied$/],
    ];
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(root, "pmtr.sock")], {}, async (p) => {
        await p.waitLog(/: started job good \[\d+\]$/m);
        const [good] = startedPids(p.stderr, "good");
        for (const [name, line] of failures) {
          await p.waitLog(new RegExp(line.source, "m"));
          await p.waitLog(new RegExp(`: job ${name} restarting too fast, delaying restart$`, "m"));
          expect(p.count(line)).toBe(1);
          expect(p.count(new RegExp(`: started job ${name} `))).toBe(0);
        }
        // The second attempt, 10 s later: one more line each, nothing else disturbed.
        for (const [name, line] of failures) {
          await waitFor(`second failed start of ${name}\n${p.stderr}`, () => p.count(line) === 2, 15_000);
        }
        expect(isAlive(p.pid)).toBe(true);
        expect(isAlive(good!)).toBe(true);
        expect(startedPids(p.stderr, "good")).toEqual([good!]);
        expect(p.stderr).not.toMatch(/^\s+at |TypeError|RangeError|Unhandled/m);
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 30_000);
});
