// acquirePidfile with real files and real processes: a live "pmtr" (a copy of sleep named
// pmtr) blocks, anything else named in the file (dead, recycled by another program, a zombie,
// ourselves, garbage) is stale and replaced; release removes only our own file.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { acquirePidfile, isRunningPmtr } from "../../../src/os/self/pidfile.ts";
import { readOr, tempDir, waitFor } from "../../helpers.ts";

let dir: string;
let fakePmtr: string;
const started: Subprocess[] = [];

beforeAll(() => {
  dir = tempDir("pmtr-pidfile-");
  fakePmtr = join(dir, "pmtr");
  copyFileSync("/bin/sleep", fakePmtr);
  Bun.spawnSync(["chmod", "755", fakePmtr]);
});
afterEach(() => {
  for (const name of readdirSync(dir)) if (name.endsWith(".pid")) rmSync(join(dir, name));
});
afterAll(() => {
  for (const p of started) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `argv` and waits until the process has exec'd (is not still the forked bun: that
 *  would count as a pmtr here, since the test runner's own program is bun). Not "until it runs
 *  argv[0]": a shell may already have exec'd its last command by the first look. */
async function run(argv: string[]): Promise<Subprocess> {
  const p = Bun.spawn(argv, { stdio: ["ignore", "ignore", "ignore"] });
  started.push(p);
  await waitFor(`${argv[0]} to be exec'd`, () => p.exitCode !== null || ![OWN_EXE, ""].includes(readlinkOr(`/proc/${p.pid}/exe`)));
  return p;
}

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

const OWN_EXE = readlinkSync("/proc/self/exe");
const pidfile = (name = "pmtr.pid") => join(dir, name);
const leftovers = () => readdirSync(dir).filter((n) => n.endsWith(".tmp"));

describe("acquirePidfile", () => {
  test("writes our pid to a new file, leaving no temporary file", () => {
    const r = acquirePidfile(pidfile(), 4242);
    expect(r.ok).toBe(true);
    expect(readFileSync(pidfile(), "utf8")).toBe("4242\n");
    expect(leftovers()).toEqual([]);
  });

  test("refuses when the file names a live pmtr, naming the file, the pid and the fix", async () => {
    const holder = await run([fakePmtr, "30"]);
    writeFileSync(pidfile(), `${holder.pid}\n`);
    const r = acquirePidfile(pidfile(), 4242);
    expect(r).toEqual({
      ok: false,
      message: `pidfile ${pidfile()} names pmtr [${holder.pid}], which is still running: stop it first (kill ${holder.pid}) or give this pmtr another file with -p`,
    });
    expect(readFileSync(pidfile(), "utf8")).toBe(`${holder.pid}\n`);
    expect(leftovers()).toEqual([]);
  });

  test("a pmtr whose binary was replaced by an upgrade still counts", async () => {
    const copy = join(dir, "upgraded", "pmtr");
    Bun.spawnSync(["mkdir", "-p", join(dir, "upgraded")]);
    copyFileSync("/bin/sleep", copy);
    Bun.spawnSync(["chmod", "755", copy]);
    const holder = await run([copy, "30"]);
    unlinkSync(copy);
    expect(isRunningPmtr(holder.pid)).toBe(true);
  });

  test("replaces a file naming a process that has exited", async () => {
    const gone = await run(["/bin/true"]);
    await gone.exited;
    writeFileSync(pidfile(), `${gone.pid}\n`);
    expect(acquirePidfile(pidfile(), 4242).ok).toBe(true);
    expect(readFileSync(pidfile(), "utf8")).toBe("4242\n");
  });

  test("replaces a file whose pid now belongs to another program", async () => {
    const other = await run(["/bin/sleep", "30"]);
    writeFileSync(pidfile(), `${other.pid}\n`);
    expect(acquirePidfile(pidfile(), 4242).ok).toBe(true);
    expect(readFileSync(pidfile(), "utf8")).toBe("4242\n");
  });

  test("replaces a file naming a pmtr that is only a zombie", async () => {
    // sh starts the fake pmtr, then becomes `sleep`, which never reaps it.
    const parent = await run(["/bin/sh", "-c", `${fakePmtr} 0 & echo $! > ${join(dir, "zombie")}; exec /bin/sleep 30`]);
    const zombie = await waitFor("the zombie's pid", () => Number(readFileSync(join(dir, "zombie"), "utf8").trim()));
    await waitFor("it to be a zombie", () => /^\d+ \(.*\) Z/.test(readOr(`/proc/${zombie}/stat`)));
    expect(parent.exitCode).toBeNull();
    writeFileSync(pidfile(), `${zombie}\n`);
    expect(acquirePidfile(pidfile(), 4242).ok).toBe(true);
  });

  test("replaces a file naming our own pid (a container's pmtr is PID 1 on every run)", () => {
    writeFileSync(pidfile(), `${process.pid}\n`);
    expect(acquirePidfile(pidfile(), process.pid).ok).toBe(true);
  });

  test.each(["", "garbage\n", "0\n", "-5\n", "12 34\n"])("replaces a file holding %p", (text) => {
    writeFileSync(pidfile(), text);
    expect(acquirePidfile(pidfile(), 4242).ok).toBe(true);
    expect(readFileSync(pidfile(), "utf8")).toBe("4242\n");
  });

  test("a missing directory is a one-line error naming the file and the fix", () => {
    const path = join(dir, "no", "such", "pmtr.pid");
    expect(acquirePidfile(path, 4242)).toEqual({
      ok: false,
      message: `cannot write pidfile ${path}: No such file or directory (create its directory or choose another file with -p)`,
    });
  });
});

describe("release", () => {
  test("removes the file it wrote", () => {
    const r = acquirePidfile(pidfile(), 4242);
    if (!r.ok) throw new Error(r.message);
    r.release();
    expect(existsSync(pidfile())).toBe(false);
    r.release(); // twice is harmless
  });

  test("leaves a file that now names another pmtr", () => {
    const r = acquirePidfile(pidfile(), 4242);
    if (!r.ok) throw new Error(r.message);
    writeFileSync(pidfile(), "5353\n");
    r.release();
    expect(readFileSync(pidfile(), "utf8")).toBe("5353\n");
  });
});
