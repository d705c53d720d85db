// SPEC §3 with real processes: createSpawner starts test/fixtures/probe.sh through the one spawn
// path (src/os/spawn/spawn.c), the probe copies what it was given from /proc/$$ into a report
// directory, and each property is checked there. The test process first
// makes its own context hostile (umask 077, SIGHUP ignored, SIGWINCH blocked, signals 32 and 33
// ignored as glibc's posix_spawn leaves them, an fd without close-on-exec, Bun's raised NOFILE
// soft limit) so that inheriting any of it shows.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dlopen } from "bun:ffi";
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeJob } from "../../src/config/defaults.ts";
import type { JobSpec } from "../../src/config/model.ts";
import type { ExitStatus } from "../../src/core/ports.ts";
import { jobEnvironment } from "../../src/os/spawn/job-env.ts";
import { libcPath } from "../../src/os/libc-path.ts";
import { createSpawner, type Spawner } from "../../src/os/spawn/index.ts";
import { FIXTURES, isAlive, tempDir, waitFor } from "../helpers.ts";

const PROBE = readFileSync(join(FIXTURES, "probe.sh"), "utf8");
const libc = dlopen(libcPath(), {
  open: { args: ["ptr", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  signal: { args: ["i32", "u64"], returns: "u64" },
  sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  syscall: { args: ["i64", "i64", "ptr", "ptr", "u64"], returns: "i64" },
}).symbols;
const SIGHUP = 1;
const SIGWINCH = 28;
/** glibc's own signals: its sigaction refuses them, so only the system call can ignore them. */
const GLIBC_SIGNALS = [32, 33];
const SYS_RT_SIGACTION = process.arch === "arm64" ? 134 : 13;

let root: string;
let leakedFd: number;
let oldUmask: number;
const exits = new Map<number, ExitStatus[]>();
const lines: Array<{ pid: number; stream: string; line: string }> = [];

function spawner(): Spawner {
  return createSpawner({
    onExit: (pid, status) => exits.set(pid, [...(exits.get(pid) ?? []), status]),
    onOutputLine: (_job, pid, stream, line) => lines.push({ pid, stream, line }),
  });
}

function job(over: Partial<JobSpec>): JobSpec {
  return makeJob({ name: "probe", argv: ["/bin/true"], ...over });
}

/** A fresh directory that the probe, even as nobody, can write its report into. */
function reportDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}

function probeJob(report: string, over: Partial<JobSpec> = {}, args: string[] = []): JobSpec {
  return job({ argv: ["/bin/sh", "-c", PROBE, "probe", report, ...args], ...over });
}

async function started(sp: Spawner, j: JobSpec): Promise<number> {
  const outcome = await sp.start(j);
  if (!outcome.ok) throw new Error(`start failed at ${outcome.step}: ${outcome.error}`);
  return outcome.pid;
}

async function exitOf(pid: number): Promise<ExitStatus> {
  const seen = await waitFor(`exit of ${pid} reported`, () => exits.get(pid));
  return seen[0]!;
}

const statusField = (status: string, name: string) => status.match(new RegExp(`^${name}:[ \\t]*(.*)$`, "m"))?.[1]?.trim();
const limitsLine = (limits: string, name: string) => limits.split("\n").find((l) => l.startsWith(name))?.slice(26).trim().split(/\s+/).slice(0, 2);

/** Everything the probe recorded, keyed by property. */
async function context(report: string) {
  await waitFor(`probe report in ${report}`, () => existsSync(join(report, "done")));
  const read = (f: string) => readFileSync(join(report, f), "utf8");
  const status = read("status");
  const stat = read("stat").slice(read("stat").lastIndexOf(")") + 2).split(" ");
  const fds = Object.fromEntries(
    read("fds").split("\n").filter((l) => l.includes(" -> ")).map((l) => l.split(" -> ")).map(([left, target]) => [left!.trim().split(/\s+/).pop()!, target!]),
  );
  const env = Object.fromEntries(read("environ").split("\0").filter(Boolean).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  return {
    cwd: read("cwd").trim(),
    argv: read("cmdline").split("\0").slice(0, -1),
    env,
    fds,
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

beforeAll(() => {
  root = tempDir("pmtr-spawn-");
  chmodSync(root, 0o755);
  oldUmask = process.umask(0o077);
  leakedFd = libc.open(Buffer.from("/dev/null\0"), 0); // no O_CLOEXEC: a child would inherit it
  libc.signal(SIGHUP, 1n); // SIG_IGN
  const set = new BigUint64Array(16);
  set[0] = 1n << BigInt(SIGWINCH - 1);
  libc.sigprocmask(0 /* SIG_BLOCK */, set, null);
  const ignore = new BigUint64Array([1n /* SIG_IGN */, 0n, 0n, 0n]); // struct kernel_sigaction
  for (const sig of GLIBC_SIGNALS) expect(Number(libc.syscall(SYS_RT_SIGACTION, sig, ignore, null, 8))).toBe(0);
});

afterAll(() => {
  const set = new BigUint64Array(16);
  set[0] = 1n << BigInt(SIGWINCH - 1);
  libc.sigprocmask(1 /* SIG_UNBLOCK */, set, null);
  libc.signal(SIGHUP, 0n);
  libc.close(leakedFd);
  process.umask(oldUmask);
  rmSync(root, { recursive: true, force: true });
});

describe("the context of a job (SPEC §3)", () => {
  test("cwd, env, stdio, fds, umask, session, signals, limits, nice, affinity", async () => {
    const work = reportDir("plain");
    writeFileSync(join(work, "input.txt"), "hello from in\n");
    writeFileSync(join(work, "err.log"), "old line\n");
    const j = probeJob(work, { dir: work, in: "input.txt", out: "out.log", err: "err.log", env: ["PROBE_A=1", "PROBE_B=two words", "PROBE_A=again", "EMPTY="] });
    const pid = await started(spawner(), j);
    const ctx = await context(work);
    const own = readFileSync("/proc/self/limits", "utf8");

    expect(ctx.cwd).toBe(work);
    expect(ctx.env).toEqual(Object.fromEntries(jobEnvironment(process.env, j.env, null)));
    expect(ctx.env.PROBE_A).toBe("again");
    expect(ctx.fds).toEqual({ "0": join(work, "input.txt"), "1": join(work, "out.log"), "2": join(work, "err.log") });
    expect(ctx.stdin).toBe("hello from in\n");
    expect(ctx.umask).toBe("0022");
    expect(ctx.pgrp).toBe(pid);
    expect(ctx.session).toBe(pid);
    expect(ctx.sigIgn).toBe("0000000000000000");
    expect(ctx.sigBlk).toBe("0000000000000000");
    const hardNofile = limitsLine(own, "Max open files")![1]!;
    expect(limitsLine(ctx.limits, "Max open files")).toEqual([String(Math.min(1024, Number(hardNofile))), hardNofile]);
    const others = (l: string) => l.split("\n").filter((x) => !x.startsWith("Max open files")).join("\n");
    expect(others(ctx.limits)).toBe(others(own));
    expect(ctx.nice).toBe(0);
    expect(ctx.cpus).toBe(statusField(readFileSync("/proc/self/status", "utf8"), "Cpus_allowed_list"));

    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
    expect(readFileSync(join(work, "out.log"), "utf8")).toBe(`out ${pid}\n`);
    expect(statSync(join(work, "out.log")).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(work, "err.log"), "utf8")).toBe(`old line\nerr ${pid}\n`);
    rmSync(work, { recursive: true });
  });

  test("user, nice, cpu and ulimits are applied before exec; files are opened as the user", async () => {
    const work = reportDir("as-nobody");
    writeFileSync(join(work, "in.txt"), "secret-free input\n");
    chmodSync(join(work, "in.txt"), 0o644);
    const j = probeJob(work, {
      dir: work, in: "in.txt", out: "out.log", err: "err.log", user: "nobody", nice: 7, cpu: [0],
      env: ["HOME=/from-env"],
      ulimits: [{ resource: "RLIMIT_NOFILE", value: 4096 }, { resource: "RLIMIT_CORE", value: "unlimited" }, { resource: "RLIMIT_NOFILE", value: 2048 }],
    });
    const pid = await started(spawner(), j);
    const ctx = await context(work);
    expect(ctx.uid).toBe("65534\t65534\t65534\t65534");
    expect(ctx.gid).toBe("65534\t65534\t65534\t65534");
    expect(ctx.groups).toBe("65534");
    expect(ctx.nice).toBe(7);
    expect(ctx.cpus).toBe("0");
    expect(limitsLine(ctx.limits, "Max open files")).toEqual(["2048", "2048"]);
    expect(limitsLine(ctx.limits, "Max core file size")).toEqual(["unlimited", "unlimited"]);
    expect(ctx.env.HOME).toBe("/from-env"); // `env` wins over the user's
    expect(ctx.env.USER).toBe("nobody");
    expect(ctx.env.LOGNAME).toBe("nobody");
    expect(ctx.env.SHELL).toBe("/usr/sbin/nologin");
    expect(ctx.stdin).toBe("secret-free input\n");
    expect(ctx.fds).toEqual({ "0": join(work, "in.txt"), "1": join(work, "out.log"), "2": join(work, "err.log") });
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
    for (const f of ["out.log", "err.log"]) {
      const st = statSync(join(work, f));
      expect([st.uid, st.mode & 0o777]).toEqual([65534, 0o644]);
    }
  });

  test("tight limits apply to the job: ulimit -n 4, a 64 MB address space", async () => {
    const work = reportDir("tight");
    // cat, not the probe: a shell needs more than 4 fds for its redirections.
    const pid = await started(spawner(), job({
      argv: ["/bin/cat", "/proc/self/limits"], out: join(work, "limits"),
      ulimits: [{ resource: "RLIMIT_NOFILE", value: 4 }, { resource: "RLIMIT_AS", value: 64 * 2 ** 20 }],
    }));
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
    const limits = readFileSync(join(work, "limits"), "utf8");
    expect(limitsLine(limits, "Max open files")).toEqual(["4", "4"]);
    expect(limitsLine(limits, "Max address space")).toEqual([String(64 * 2 ** 20), String(64 * 2 ** 20)]);
  });

  test("a later ulimit of the same resource wins, even one that raises it again for another user", async () => {
    // Limits are set before setuid, while raising a hard limit is still allowed.
    const work = reportDir("later-wins");
    const pid = await started(spawner(), job({
      argv: ["/bin/cat", "/proc/self/limits"], out: join(work, "limits"), user: "nobody",
      ulimits: [{ resource: "RLIMIT_NOFILE", value: 2048 }, { resource: "RLIMIT_CORE", value: 0 }, { resource: "RLIMIT_NOFILE", value: 4096 }],
    }));
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
    const limits = readFileSync(join(work, "limits"), "utf8");
    expect(limitsLine(limits, "Max open files")).toEqual(["4096", "4096"]);
    expect(limitsLine(limits, "Max core file size")).toEqual(["0", "0"]);
  });

  test("a numeric uid is a user too, with its HOME", async () => {
    const work = reportDir("uid");
    const pid = await started(spawner(), probeJob(work, { user: "65534" }));
    const ctx = await context(work);
    expect(ctx.uid).toBe("65534\t65534\t65534\t65534");
    expect(ctx.env.HOME).toBe("/nonexistent");
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
  });

  test("a numeric uid without a passwd entry: that uid, the same gid, no other groups, HOME /", async () => {
    const work = reportDir("unlisted-uid");
    expect(readFileSync("/etc/passwd", "utf8")).not.toMatch(/^[^:]*:[^:]*:4000000:/m);
    const pid = await started(spawner(), probeJob(work, { user: "4000000" }));
    const ctx = await context(work);
    expect(ctx.uid).toBe("4000000\t4000000\t4000000\t4000000");
    expect(ctx.gid).toBe("4000000\t4000000\t4000000\t4000000");
    expect(ctx.groups).toBe("4000000");
    expect(ctx.env.HOME).toBe("/");
    expect(ctx.env.USER).toBe("4000000");
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
  });

  test("argv exactly as written: quoted words, empty words, no glob, no PATH search", async () => {
    const work = reportDir("argv");
    const args = ["two words", "", "*", "$HOME"];
    const pid = await started(spawner(), probeJob(work, {}, args));
    expect((await context(work)).argv).toEqual(["/bin/sh", "-c", PROBE, "probe", work, ...args]);
    await exitOf(pid);
    // "sh" is found on PATH by a shell; a job's argv[0] is used as the path it is.
    expect(await spawner().start(job({ argv: ["sh", "-c", "true"] }))).toEqual({
      ok: false, step: "exec", error: "execve sh: No such file or directory",
    });
  });

  test("whatever execve accepts starts, with settings too: three 50 KB arguments and nice 1", async () => {
    const work = reportDir("long-args");
    const big = ["a", "b", "c"].map((ch) => ch.repeat(50_000));
    const pid = await started(spawner(), job({ argv: ["/bin/sh", "-c", 'printf "%s\n" "${#1} ${#2} ${#3}"', "sh", ...big], nice: 1, out: join(work, "lengths") }));
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
    expect(readFileSync(join(work, "lengths"), "utf8")).toBe("50000 50000 50000\n");
  });
});

describe("a start that fails names the step and the OS error", () => {
  const cases: Array<[string, () => Partial<JobSpec>, string, RegExp]> = [
    ["missing program", () => ({ argv: ["/nonexistent/prog"] }), "exec", /^execve \/nonexistent\/prog: No such file or directory$/],
    ["program not executable", () => ({ argv: [join(FIXTURES, "probe.sh")] }), "exec", /^execve .*probe\.sh: Permission denied$/],
    ["cmd naming a directory", () => ({ argv: ["/usr/bin"] }), "exec", /^execve \/usr\/bin: Is a directory \(cmd must name a program file\)$/],
    ["missing dir", () => ({ dir: "/nonexistent-dir" }), "dir", /^chdir \/nonexistent-dir: No such file or directory$/],
    ["dir is a file", () => ({ dir: "/etc/passwd" }), "dir", /^chdir \/etc\/passwd: Not a directory$/],
    ["missing in file", () => ({ dir: root, in: "no-such-input" }), "in", /^open .*\/no-such-input: No such file or directory$/],
    ["out in a missing directory", () => ({ out: "/nonexistent-dir/out.log" }), "out", /^open \/nonexistent-dir\/out.log: No such file or directory$/],
    ["err in a missing directory", () => ({ err: "/nonexistent-dir/err.log" }), "err", /^open \/nonexistent-dir\/err.log: No such file or directory$/],
  ];
  for (const [what, over, step, error] of cases) {
    test(what, async () => {
      const outcome = await spawner().start(job(over()));
      expect(outcome).toMatchObject({ ok: false, step });
      if (!outcome.ok) expect(outcome.error).toMatch(error);
    });
  }

  const settingCases: Array<[string, Partial<JobSpec>, string, RegExp]> = [
    ["no such user", { user: "no-such-user-here" }, "user", /^no such user "no-such-user-here"/],
    ["out not writable by the job's user", { user: "nobody", dir: "/", out: "pmtr-test-denied.log" }, "out", /^open \/pmtr-test-denied\.log as user nobody: Permission denied$/],
    ["cpu that does not exist", { cpu: [1023] }, "cpu", /^sched_setaffinity 1023: Invalid argument$/],
    ["ulimit beyond the kernel's maximum", { ulimits: [{ resource: "RLIMIT_NOFILE", value: 2 ** 40 }] }, "ulimit", /^setrlimit RLIMIT_NOFILE 1099511627776: Operation not permitted$/],
    ["a program the user may not run", { user: "nobody", argv: ["/root/x"] }, "exec", /^execve \/root\/x: Permission denied$/],
  ];
  for (const [what, over, step, error] of settingCases) {
    test(what, async () => {
      const outcome = await spawner().start(job(over));
      expect(outcome).toMatchObject({ ok: false, step });
      if (!outcome.ok) expect(outcome.error).toMatch(error);
    });
  }

  test("a failed start never reports an exit, and its child is collected", async () => {
    const before = new Set(exits.keys());
    const sp = spawner();
    const outcome = await sp.start(job({ argv: ["/nonexistent/prog"], cpu: [0] }));
    expect(outcome.ok).toBe(false);
    // A later start's exit is the barrier: by then a SIGCHLD for the failed child has come.
    const pid = await started(sp, job({ argv: ["/bin/true"], cpu: [0] }));
    await exitOf(pid);
    expect([...exits.keys()].filter((p) => !before.has(p))).toEqual([pid]);
    const children = [...readFileSync(`/proc/self/task/${process.pid}/children`, "utf8").trim().split(/\s+/)].filter(Boolean).map(Number);
    for (const child of children) expect(readFileSync(`/proc/${child}/stat`, "utf8")).not.toMatch(/^\d+ \(\S+\) Z/);
  });
});

describe("exits", () => {
  {
    test("exit code and signal reach onExit once", async () => {
      const sp = spawner();
      const code = await started(sp, job({ argv: ["/bin/sh", "-c", "exit 3"] }));
      expect(await exitOf(code)).toEqual({ kind: "exited", code: 3 });

      const sleeper = await started(sp, job({ argv: ["/bin/sleep", "600"] }));
      await waitFor("sleep to run", () => readFileSync(`/proc/${sleeper}/cmdline`, "utf8").startsWith("/bin/sleep"));
      process.kill(-sleeper, "SIGTERM"); // its own process group
      expect(await exitOf(sleeper)).toEqual({ kind: "signaled", signal: "SIGTERM" });
      expect(exits.get(code)).toHaveLength(1);
      expect(exits.get(sleeper)).toHaveLength(1);
      expect(isAlive(sleeper)).toBe(false);
    });
  }

  test("a job that exits before its start is known is reported after the start resolves", async () => {
    const sp = spawner();
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => sp.start(job({ argv: ["/bin/true"] }))));
    for (const o of outcomes) {
      expect(o.ok).toBe(true);
      if (o.ok) expect(await exitOf(o.pid)).toEqual({ kind: "exited", code: 0 });
    }
  });
});

describe("out/err syslog", () => {
  {
    test("lines reach onOutputLine, long lines in pieces", async () => {
      const script = 'echo first; printf "%05000d\\n" 0; echo oops >&2; printf "no newline"';
      const pid = await started(spawner(), job({ argv: ["/bin/sh", "-c", script], out: "syslog", err: "syslog" }));
      await exitOf(pid);
      await waitFor("last line", () => lines.some((l) => l.pid === pid && l.line === "no newline"));
      const mine = lines.filter((l) => l.pid === pid);
      expect(mine.filter((l) => l.stream === "err").map((l) => l.line)).toEqual(["oops"]);
      const out = mine.filter((l) => l.stream === "out").map((l) => l.line);
      expect(out[0]).toBe("first");
      expect(out.slice(1, -1).join("")).toBe("0".repeat(5000));
      expect(out.slice(1, -1).every((l) => l.length <= 4096)).toBe(true);
      expect(out.at(-1)).toBe("no newline");
    });
  }
});

describe("FIFOs never hold pmtr up", () => {
  const mkfifo = (name: string) => {
    const path = join(root, name);
    expect(Bun.spawnSync(["/usr/bin/mkfifo", "-m", "644", path]).exitCode).toBe(0);
    return path;
  };

  test("an `out` FIFO without a reader fails the start at once, naming it", async () => {
    const fifo = mkfifo("out-fifo");
    for (const stream of ["out", "err"] as const) {
      expect(await spawner().start(job({ [stream]: fifo }))).toEqual({ ok: false, step: stream, error: `open ${fifo}: FIFO has no reader` });
    }
  });

  test("an `out` FIFO with a reader gets the job's output", async () => {
    const fifo = mkfifo("out-fifo-read");
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // returns at once
    try {
      const pid = await started(spawner(), job({ argv: ["/bin/echo", "through the fifo"], out: fifo }));
      expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
      const buf = Buffer.alloc(100);
      expect(buf.subarray(0, readSync(reader, buf)).toString()).toBe("through the fifo\n");
    } finally {
      closeSync(reader);
    }
  });

  test("an `in` FIFO with a writer is read by the job", async () => {
    const fifo = mkfifo("in-fifo-write");
    const writer = openSync(fifo, constants.O_RDWR); // a writer (and reader) that opens at once
    writeFileSync(writer, "from the writer\n");
    const copy = join(root, "in-fifo-copy");
    const pid = await started(spawner(), job({ argv: ["/bin/cat"], in: fifo, out: copy }));
    closeSync(writer); // the last writer gone: cat reads what was written, then end of file
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
    expect(readFileSync(copy, "utf8")).toBe("from the writer\n");
  });

  test("an `in` FIFO without a writer starts the job at once; it reads end of file", async () => {
    const fifo = mkfifo("in-fifo-alone");
    const pid = await started(spawner(), job({ argv: ["/bin/cat"], in: fifo }));
    expect(await exitOf(pid)).toEqual({ kind: "exited", code: 0 });
  });
});
