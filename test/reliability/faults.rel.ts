// Faults (issue 7): one pmtr supervising a job per fault, plus a `healthy` job and a `witness`
// job that exits every 10.3 s, while the test breaks the world around them. For each fault pmtr
// must log clearly, keep supervising everything else (healthy keeps its pid, witness keeps
// being restarted at once), and at shutdown stop everything and exit 0 with nothing left.
//
// pmtr runs in a private mount namespace (test/e2e/private-dev.ts) with a /dev whose /dev/log
// refuses connections (a socket nobody listens on: syslogd stopped), where the wrapper below
// has mounted a full tmpfs and a read-only tmpfs. Mounts vanish with the namespace; nothing touches the
// host's /dev. The throwaway user is deleted in afterAll whatever happens.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cleanupPmtr, join, Pmtr, PMTR, pidsWithArg, procStat, readOr, startedPids, tempDir, waitFor, writeConfig, isAlive } from "../helpers.ts";
import { inPrivateDev } from "../e2e/private-dev.ts";
import { allStartedPids, explain, leftovers, processTable, report, zombieChildren } from "./lib.ts";

const TAG = `pmtr-rel-faults-${process.pid}-${Date.now().toString(36)}`;
const mark = (name: string) => `${TAG}-${name}`;
const FORKS = 1000;
const dir = tempDir("pmtr-rel-faults-");
const sock = join(dir, "pmtr.sock");
const user = `prel${Math.random().toString(36).slice(2, 8)}`;

/** Mounts the faulty filesystems, then runs "$@"; run inside inPrivateDev's namespace, whose
 *  /dev/log is a socket nobody listens on (bound below, before pmtr starts). */
const FAULT_MOUNTS = String.raw`
set -eu
dir=$1
shift
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/$PPID/ns/mnt)" ] || { echo "not in a private mount namespace" >&2; exit 97; }
# Full: every block and every inode in use; existing.out was created before it filled.
mount -t tmpfs -o size=128k,nr_inodes=64 pmtr-rel-full "$dir/full"
: > "$dir/full/existing.out"
dd if=/dev/zero of="$dir/full/filler" bs=4096 2>/dev/null || true
i=0
while touch "$dir/full/inode$i" 2>/dev/null; do i=$((i+1)); done
# Read-only, with one file on it.
mount -t tmpfs -o size=64k pmtr-rel-ro "$dir/ro"
: > "$dir/ro/existing.out"
mount -o remount,ro "$dir/ro"
exec "$@"
`;

function job(name: string, cmd: string, extra = ""): string {
  return `job {\n  name ${name}\n  cmd ${cmd}\n${extra}}\n`;
}
const sh = (name: string, script: string) => `/bin/sh -c "${script}" ${mark(name)}`;

/** The config: one job per fault, and two that nothing should disturb. */
function config(): string {
  return [
    job("healthy", sh("healthy", "sleep 600")),
    job("witness", sh("witness", "sleep 10.3")),
    job("full-write", sh("full-write", "while :; do /bin/echo tick || exit 7; sleep 0.2; done"), `  out ${dir}/full/existing.out\n`),
    job("full-create", sh("full-create", "sleep 600"), `  out ${dir}/full/new.out\n`),
    job("ro-create", sh("ro-create", "sleep 600"), `  dir ${dir}/ro\n  out new.out\n`),
    job("ro-append", sh("ro-append", "sleep 600"), `  err ${dir}/ro/existing.out\n`),
    job("dir-removed", sh("dir-removed", "sleep 600"), `  dir ${dir}/work\n`),
    job("user-deleted", sh("user-deleted", "sleep 600"), `  user ${user}\n`),
    job("exec-bit", `${dir}/bin/run.sh ${mark("exec-bit")}`),
    job("forker", sh("forker", `i=0; while [ $i -lt ${FORKS} ]; do sleep 600 & i=$((i+1)); done; while [ ! -e $1 ]; do sleep 0.1; done`).replace(`${mark("forker")}`, `${mark("forker")} ${dir}/release`), "  once\n"),
    job("closer", sh("closer", "echo before-close; echo before-close-err >&2; exec >&- 2>&-; sleep 600"), "  out syslog\n  err syslog\n"),
    job("term-ignorer", sh("term-ignorer", "trap '' TERM; sleep 600")),
    job("stopper", sh("stopper", "kill -STOP $$; echo continued; sleep 600")),
  ].join("");
}

let p: Pmtr;
let healthyPid = 0;
let userCreated = false;
const userUid = () => Number(readOr("/etc/passwd").match(new RegExp(`^${user}:[^:]*:(\\d+):`, "m"))?.[1] ?? NaN);
let uid = NaN;
const figures: Record<string, string | number> = {};

/** Runs a command we need to succeed (useradd, userdel), with its output on failure. */
async function must(argv: string[]): Promise<void> {
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")}: exit ${code}: ${out}${err}`);
}
/** `pmtr restart NAME` over the control socket: the job stops and starts again. */
async function restart(name: string): Promise<void> {
  const proc = Bun.spawn([PMTR, "-s", sock, "restart", name], { stdout: "ignore", stderr: "ignore" });
  await proc.exited;
}
/** Log lines about job NAME. */
const about = (name: string) => p.stderr.split("\n").filter((l) => l.includes(`job ${name} `));
/** Group leaders running as job NAME. */
const runsOf = (name: string) => pidsWithArg(mark(name)).filter((pid) => procStat(pid)?.pgrp === pid && isAlive(pid));
/** True once job NAME runs as one process other than `before`, the one pmtr last logged. */
function runningAgain(name: string, before: number): boolean {
  const runs = runsOf(name);
  return runs.length === 1 && runs[0] !== before && startedPids(p.stderr, name).at(-1) === runs[0];
}
function stillSupervising(): void {
  expect(runsOf("healthy")).toEqual([healthyPid]);
  expect(startedPids(p.stderr, "healthy")).toEqual([healthyPid]);
  expect(p.stderr.match(/.*internal error.*/)?.[0] ?? null).toBe(null);
}

beforeAll(async () => {
  for (const sub of ["full", "ro", "work", "bin"]) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, "bin/run.sh"), "#!/bin/sh\nsleep 600\n");
  chmodSync(join(dir, "bin/run.sh"), 0o755);
  await must(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user]);
  userCreated = true;
  uid = userUid();
  const conf = writeConfig(dir, config());
  // /dev/log: a socket file nobody listens on (syslogd stopped); python3 binds it and exits.
  const staleLog = join(dir, "stale-log.sock");
  const bound = Bun.spawnSync(["python3", "-c", "import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])", staleLog]);
  if (bound.exitCode !== 0) throw new Error(`binding ${staleLog} failed (python3, Debian package python3): ${bound.stderr}`);
  p = new Pmtr(["-F", "-v", "-c", conf, "-s", sock], { wrap: [...inPrivateDev(dir, staleLog), "/bin/sh", "-c", FAULT_MOUNTS, "sh", dir] });
  await p.waitLog("pmtr: managing 13 jobs", 15_000);
  healthyPid = await waitFor("healthy running", () => (runsOf("healthy").length === 1 ? runsOf("healthy")[0] : undefined), 10_000);
}, 30_000);

afterAll(async () => {
  if (p) await cleanupPmtr(p, { timeoutMs: 25_000 });
  // Whatever a failed test left: every process carrying our marker or running as the user.
  for (const x of processTable()) {
    if (x.argv.some((a) => a.includes(TAG)) && x.pid !== process.pid) {
      try {
        process.kill(x.pid, "SIGKILL");
      } catch {}
    }
  }
  if (userCreated && Number.isInteger(userUid())) await must(["userdel", "-f", user]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 40_000);

/** A test that, failing, keeps pmtr's whole log and shows its end. */
function fault(name: string, fn: () => Promise<void>, timeoutMs = 15_000): void {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      explain(e, "faults", p.stderr);
      throw e;
    }
  }, timeoutMs);
}

describe("faults", () => {
  fault("/dev/log refusing: every message still on stderr, once", async () => {
    await p.waitLog(/: started job closer \[\d+\]\n/);
    expect(p.stderr).toMatch(new RegExp(`^pmtr\\[${p.pid}\\]: pmtr: starting$`, "m"));
    expect(p.count(/: pmtr: managing 13 jobs$/)).toBe(1);
    // A job's `out syslog` lines come to stderr as NAME[PID]: line.
    const closer = startedPids(p.stderr, "closer")[0]!;
    await p.waitLog(`closer[${closer}]: before-close\n`);
    await p.waitLog(`closer[${closer}]: before-close-err\n`);
    stillSupervising();
  });

  fault("output file on a full filesystem: an existing file fails the job's writes, a new one fails the start; both logged and retried", async () => {
    await p.waitLog(/: job full-write \[\d+\] exited after \d+ sec: exit status 7\n/, 10_000);
    await p.waitLog(/: job full-create failed to start: out: .*No space left on device\n/, 10_000);
    expect(about("full-write").some((l) => l.endsWith("job full-write restarting too fast, delaying restart"))).toBe(true);
    expect(about("full-create").some((l) => l.endsWith("job full-create restarting too fast, delaying restart"))).toBe(true);
    stillSupervising();
  });

  fault("output file on a read-only filesystem: the start fails at out/err with EROFS, logged", async () => {
    await p.waitLog(/: job ro-create failed to start: out: .*Read-only file system\n/, 10_000);
    await p.waitLog(/: job ro-append failed to start: err: .*Read-only file system\n/, 10_000);
    stillSupervising();
  });

  fault("a job that closes its stdout and stderr (syslog pipes at EOF) keeps running and is not mistaken for an exit", async () => {
    const closer = startedPids(p.stderr, "closer")[0]!;
    await Bun.sleep(500);
    expect(runsOf("closer")).toEqual([closer]);
    expect(about("closer").filter((l) => l.includes("exited"))).toEqual([]);
    stillSupervising();
  });

  fault("a job that stops itself (SIGSTOP) stays supervised as it is", async () => {
    const stopper = await waitFor("stopper stopped", () => {
      const [pid] = runsOf("stopper");
      return pid !== undefined && procStat(pid)?.state === "T" ? pid : 0;
    });
    expect(startedPids(p.stderr, "stopper")).toEqual([stopper]);
    expect(about("stopper").filter((l) => l.includes("exited"))).toEqual([]);
    stillSupervising();
  });

  fault(`a job that forks ${FORKS} children: all run in its group; when it exits, pmtr ends them and reaps every orphan`, async () => {
    const forker = startedPids(p.stderr, "forker")[0]!;
    const group = () => processTable().filter((x) => x.session === forker && x.state !== "Z");
    await waitFor(`${FORKS + 1} processes in the forker's session`, () => group().length >= FORKS + 1, 20_000);
    figures.forkerGroup = group().length;
    expect(about("forker").filter((l) => l.includes("exited"))).toEqual([]);
    stillSupervising();
    writeFileSync(join(dir, "release"), "");
    await p.waitLog(/: job forker \[\d+\] exited after \d+ sec: exit status 0\n/, 10_000);
    await p.waitLog(": job forker ran once, will not be restarted\n");
    await p.waitLog(`: sending SIGTERM to the processes job forker [${forker}] left in its process group\n`);
    // Orphans come to pmtr (subreaper) and are reaped: none left, alive or zombie.
    await waitFor("the forker's session empty", () => processTable().every((x) => x.session !== forker), 15_000);
    await waitFor("no zombie children of pmtr", () => zombieChildren(p.pid).length === 0, 5_000);
    stillSupervising();
  }, 60_000);

  fault("dir removed while the job runs: the next start fails at dir, logged; the dir back, the job starts again", async () => {
    const before = runsOf("dir-removed");
    expect(before).toHaveLength(1);
    rmSync(join(dir, "work"), { recursive: true });
    await restart("dir-removed");
    await p.waitLog(/: job dir-removed failed to start: dir: .*No such file or directory\n/, 10_000);
    mkdirSync(join(dir, "work"));
    await waitFor("dir-removed running again", () => runningAgain("dir-removed", before[0]!), 15_000);
    stillSupervising();
  }, 30_000);

  fault("exec bit removed: the next start fails at exec, logged; the bit back, the job starts again", async () => {
    const before = runsOf("exec-bit");
    expect(before).toHaveLength(1);
    chmodSync(join(dir, "bin/run.sh"), 0o644);
    await restart("exec-bit");
    await p.waitLog(/: job exec-bit failed to start: exec: .*Permission denied\n/, 10_000);
    chmodSync(join(dir, "bin/run.sh"), 0o755);
    await waitFor("exec-bit running again", () => runningAgain("exec-bit", before[0]!), 15_000);
    stillSupervising();
  }, 30_000);

  fault("user deleted while its job runs: the job runs on; the next start fails at user, logged, and is retried", async () => {
    const [running] = runsOf("user-deleted");
    expect(running).toBeDefined();
    expect(readOr(`/proc/${running}/status`)).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, "m"));
    await must(["userdel", "-f", user]);
    expect(Number.isInteger(userUid())).toBe(false);
    await restart("user-deleted");
    await p.waitLog(new RegExp(`: job user-deleted failed to start: user: .*${user}.*\\n`), 10_000);
    await p.waitLog(": job user-deleted restarting too fast, delaying restart\n");
    expect(runsOf("user-deleted")).toEqual([]);
    stillSupervising();
  }, 30_000);

  fault("meanwhile the witness job was restarted at once after each exit", async () => {
    await waitFor("the witness's first exit and restart", () => startedPids(p.stderr, "witness").length >= 2, 15_000);
    expect(about("witness").filter((l) => /restarting too fast|failed/.test(l))).toEqual([]);
    figures.witnessRuns = startedPids(p.stderr, "witness").length;
    stillSupervising();
  }, 20_000);

  fault("shutdown: the job ignoring SIGTERM gets SIGKILL, the stopped one is continued and ends on SIGTERM; exit 0, nothing left", async () => {
    const stopper = runsOf("stopper")[0]!;
    const ignorer = runsOf("term-ignorer")[0]!;
    const t0 = performance.now();
    const code = await p.stop(25_000);
    figures.shutdownSec = ((performance.now() - t0) / 1000).toFixed(1);
    expect(code).toBe(0);
    expect(p.stderr).toMatch(new RegExp(`: job term-ignorer \\[${ignorer}\\] exited after \\d+ sec: killed by SIGKILL\\n`));
    expect(p.stderr).toContain(`: sending SIGKILL to job term-ignorer [${ignorer}]\n`);
    expect(p.stderr).toMatch(new RegExp(`: job stopper \\[${stopper}\\] exited after \\d+ sec: killed by SIGTERM\\n`));
    expect(p.stderr).not.toContain(`sending SIGKILL to job stopper`);
    expect(leftovers(allStartedPids(p.stderr), TAG)).toEqual([]);
    expect(processTable().filter((x) => readOr(`/proc/${x.pid}/status`).match(new RegExp(`^Uid:\\s+${uid}\\s`, "m")))).toEqual([]);
    report("faults", { ...figures, jobs: 13, startFailuresLogged: p.count(/failed to start/), leftovers: 0 });
  }, 40_000);
});
