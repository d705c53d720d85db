// SPEC §11 "One pmtr per control socket" end to end: a second pmtr on the socket path of a live
// one exits 3 naming the first's pid, with -s and at the default path, even after the socket
// file was deleted (tried as a new user would: `rm /run/pmtr.sock` and a second pmtr ran every
// job twice, overwrote the first's job record and deleted it on exit). A pmtr that is gone
// leaves nothing that blocks the next one.

import { afterEach, expect, test } from "bun:test";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, unlinkSync } from "node:fs";
import { recordPath } from "../../src/os/self/generation.ts";
import { isAlive, join, Pmtr, PMTR, readOr, rmSync, runPmtr, tempDir, waitFor, writeConfig } from "../helpers.ts";

const dirs: string[] = [];
const started: Pmtr[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await p.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setUp(): { dir: string; conf: string; other: string; sock: string } {
  const dir = tempDir("pmtr-lock-");
  dirs.push(dir);
  return {
    dir,
    conf: writeConfig(dir, "job {\n  name a\n  cmd /bin/sleep 600\n}\n"),
    other: writeConfig(dir, "job {\n  name other\n  cmd /bin/sleep 601\n}\n", "other.conf"),
    sock: join(dir, "pmtr.sock"),
  };
}

function jobPid(p: Pmtr, name: string): Promise<number> {
  return waitFor(`job ${name} started`, () => Number(new RegExp(`started job ${name} \\[(\\d+)\\]`).exec(p.stderr)?.[1] ?? 0), 10_000);
}

/** Every path the open fds of `pid` point to. */
function openFiles(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return "";
    }
  });
}

test("a second pmtr on the same -s path exits 3 naming the first, even once the socket file is deleted", async () => {
  const { dir, conf, other, sock } = setUp();
  const first = new Pmtr(["-F", "-c", conf, "-s", sock]);
  started.push(first);
  const job = await jobPid(first, "a");
  await waitFor("the job record", () => readOr(join(dir, "pmtr.jobs")).includes(`"pid":${job}`));
  const record = readFileSync(join(dir, "pmtr.jobs"), "utf8");
  expect(readFileSync(`${sock}.lock`, "utf8")).toBe(`${first.pid}\n`);
  // The lock file is close-on-exec: a job outliving a killed pmtr must not hold it.
  expect(openFiles(job).filter((f) => f.includes("pmtr.sock"))).toEqual([]);

  const refusal = `another pmtr [${first.pid}] is running on ${sock}`;
  for (const [label, args] of [["foreground", ["-F"]], ["background", []]] as const) {
    const second = await runPmtr([...args, "-c", other, "-s", sock], { timeoutMs: 10_000 });
    expect({ label, code: second.code }).toEqual({ label, code: 3 });
    expect(second.stderr).toContain(refusal);
    expect(second.stderr).not.toContain("started job other");
  }

  unlinkSync(sock);
  for (const [label, args] of [["foreground", ["-F"]], ["background", []]] as const) {
    const second = await runPmtr([...args, "-c", other, "-s", sock], { timeoutMs: 10_000 });
    expect({ label, deleted: true, code: second.code }).toEqual({ label, deleted: true, code: 3 });
    expect(second.stderr).toContain(refusal);
  }
  // The first pmtr and what it owns are untouched: its job, its record, its lock.
  expect(isAlive(first.pid)).toBe(true);
  expect(isAlive(job)).toBe(true);
  expect(readFileSync(join(dir, "pmtr.jobs"), "utf8")).toBe(record);
  expect(readFileSync(`${sock}.lock`, "utf8")).toBe(`${first.pid}\n`);
  expect(first.stderr).not.toContain("left running by a previous pmtr");

  // A clean exit removes the lock file; the next pmtr starts.
  expect(await first.stop()).toBe(0);
  expect(existsSync(`${sock}.lock`)).toBe(false);
  const next = new Pmtr(["-F", "-c", other, "-s", sock]);
  started.push(next);
  await jobPid(next, "other");
}, 60_000);

test("a pmtr killed by SIGKILL leaves a stale socket and lock file; the next pmtr replaces both", async () => {
  const { conf, sock } = setUp();
  const first = new Pmtr(["-F", "-c", conf, "-s", sock]);
  started.push(first);
  const job = await jobPid(first, "a");
  // The job record is written after the start is logged (once per turn of the loop): a SIGKILL
  // before it lands would leave nothing for the next pmtr to find.
  await waitFor(`job a [${job}] in ${recordPath(sock)}`, () => {
    try {
      return (JSON.parse(readOr(recordPath(sock), "{}")) as { jobs?: Array<{ pid: number }> }).jobs?.some((j) => j.pid === job);
    } catch {
      return false; // caught between the write and the rename: look again
    }
  }, 15_000);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  expect(lstatSync(sock).isSocket()).toBe(true);
  expect(readFileSync(`${sock}.lock`, "utf8")).toBe(`${first.pid}\n`);
  expect(isAlive(job)).toBe(true); // left running by the crash; the next pmtr stops it

  const second = new Pmtr(["-F", "-c", conf, "-s", sock]);
  started.push(second);
  await second.waitLog(`stopping job a [${job}], left running by a previous pmtr [${first.pid}]`, 15_000);
  await jobPid(second, "a");
  expect(readFileSync(`${sock}.lock`, "utf8")).toBe(`${second.pid}\n`);
  expect((await runPmtr(["-s", sock, "status", "a"])).code).toBe(0);
}, 60_000);

// The default path's logic without touching this machine's /run: both pmtrs run as root in a
// mount namespace of their own with a private tmpfs on /run, so the path is /run/pmtr.sock.
test("at the default path (/run/pmtr.sock as root) a second pmtr exits 3 too, socket file or not", async () => {
  const { dir, conf, other } = setUp();
  const script = `
set -u
mount -t tmpfs tmpfs /run || { echo "mount failed" > "$DIR/result"; exit 1; }
"$PMTR" -F -c "$CONF" 2> "$DIR/first.log" &
first=$!
i=0
while [ ! -S /run/pmtr.sock ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
"$PMTR" -F -c "$OTHER" 2> "$DIR/second.log"
second=$?
rm -f /run/pmtr.sock
"$PMTR" -c "$OTHER" 2> "$DIR/third.log"
third=$?
lock=$(cat /run/pmtr.sock.lock)
kill $first
wait $first
echo "first=$first second=$second third=$third lock=$lock exit=$?" > "$DIR/result"
`;
  const proc = Bun.spawn(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script], {
    env: { ...process.env, PMTR, CONF: conf, OTHER: other, DIR: dir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 40_000);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const result = readOr(join(dir, "result"));
  expect({ code, stderr, result }).toMatchObject({ code: 0, stderr: "" });
  const first = /first=(\d+)/.exec(result)?.[1];
  expect(result).toBe(`first=${first} second=3 third=3 lock=${first} exit=0\n`);
  expect(readOr(join(dir, "second.log"))).toContain(`another pmtr [${first}] is running on /run/pmtr.sock`);
  expect(readOr(join(dir, "third.log"))).toContain(`another pmtr [${first}] is running on /run/pmtr.sock`);
  expect(readOr(join(dir, "first.log"))).toContain("started job a");
  expect(readOr(join(dir, "first.log"))).not.toContain("started job other");
}, 60_000);
