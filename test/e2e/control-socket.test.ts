// The control socket end to end: dist/pmtr supervising real jobs, dist/pmtr as the client.
// Every command's output, JSON shape and exit code; the socket's permissions; no daemon.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, writeFileSync } from "node:fs";
import { isAlive, join, Pmtr, PMTR, readOr, rmSync, runPmtr, tempDir, waitFor, writeConfig } from "../helpers.ts";

const dir = tempDir("pmtr-ctl-e2e-");
const sock = join(dir, "pmtr.sock");
const hupFile = join(dir, "hups");
let conf: string;
let pmtr: Pmtr;

const client = (...args: string[]) => runPmtr(["-s", sock, ...args], { timeoutMs: 30_000 });

async function jobs(): Promise<Record<string, { state: string; pid: number | null; restarts: number; uptimeSec: number | null; lastExit: unknown; enabled: boolean; cmd: string }>> {
  const { stdout } = await client("status", "--json");
  return Object.fromEntries(JSON.parse(stdout).jobs.map((j: { name: string }) => [j.name, j]));
}

const CONFIG = `
job {
  name sleeper
  cmd /bin/sleep 600
}
job {
  name trapper
  cmd /bin/sh -c "trap 'echo hup >> ${hupFile}' HUP; while :; do sleep 0.05; done"
}
job {
  name quitter
  cmd /bin/sh -c "exit 33"
}
job {
  name off
  cmd /bin/sleep 600
  disable
}
`;

beforeAll(async () => {
  // World-readable directory: only the socket's own mode keeps other users out.
  chmodSync(dir, 0o755);
  conf = writeConfig(dir, CONFIG);
  pmtr = new Pmtr(["-F", "-c", conf, "-s", sock]);
  await waitFor("jobs to settle", async () => {
    const j = await jobs();
    return j.sleeper?.state === "running" && j.trapper?.state === "running" && j.quitter?.state === "done";
  }, 10_000);
});

afterAll(async () => {
  await pmtr?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("status", () => {
  test("the table: one row per job, in file order", async () => {
    const { code, stdout, stderr } = await client("status");
    expect(stderr).toBe("");
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +STATE +PID +RESTARTS +LAST EXIT +INFO$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([["sleeper", "running"], ["trapper", "running"], ["quitter", "done"], ["off", "disabled"]]);
    const j = await jobs();
    expect(lines[1]).toMatch(new RegExp(`^sleeper +running +${j.sleeper!.pid} +0 +- +up \\S+`));
    expect(lines[3]).toMatch(/^quitter +done +- +0 +exit 33 +\S/);
    expect(lines[4]).toMatch(/^off +disabled +- +0 +- +\S/);
    // Nothing that is meant to run is down.
    expect(code).toBe(0);
  });

  test("--json shape", async () => {
    const { code, stdout } = await client("status", "--json", "sleeper");
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout);
    expect(Object.keys(parsed)).toEqual(["jobs", "unknown"]);
    const [job] = parsed.jobs;
    // Checked before toMatchObject: bun's asymmetric matchers write themselves into the object.
    expect(isAlive(job.pid)).toBe(true);
    expect(job).toMatchObject({ name: "sleeper", state: "running", enabled: true, pid: expect.any(Number), uptimeSec: expect.any(Number), restarts: 0, lastExit: null, cmd: "/bin/sleep" });
    expect((await jobs()).quitter!.lastExit).toMatchObject({ kind: "exited", code: 33 });
  });

  test("exit codes: 0 all named running, 3 some not, 4 unknown", async () => {
    expect((await client("status", "sleeper", "trapper")).code).toBe(0);
    expect((await client("status", "sleeper", "quitter")).code).toBe(3);
    expect((await client("status", "off")).code).toBe(3);
    const unknown = await client("status", "sleeper", "nope");
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toBe('pmtr: no job named "nope"\n');
  });
});

describe("actions", () => {
  test("stop, start, restart: act at once and report", async () => {
    const before = (await jobs()).sleeper!.pid!;
    const stop = await client("stop", "sleeper");
    expect(stop).toEqual({ code: 0, stdout: "sleeper: stopped\n", stderr: "" });
    expect(isAlive(before)).toBe(false);
    expect((await client("status", "sleeper")).code).toBe(3);

    const start = await client("start", "sleeper");
    expect(start.code).toBe(0);
    const started = Number(/^sleeper: started \[(\d+)\]\n$/.exec(start.stdout)?.[1]);
    expect(isAlive(started)).toBe(true);
    expect((await client("start", "sleeper")).stdout).toBe(`sleeper: already running [${started}]\n`);

    const restart = await client("restart", "sleeper");
    expect(restart.code).toBe(0);
    const restarted = Number(/^sleeper: restarted \[(\d+)\]\n$/.exec(restart.stdout)?.[1]);
    expect(restarted).not.toBe(started);
    expect(isAlive(started)).toBe(false);
    expect(isAlive(restarted)).toBe(true);
  });

  test("an unknown job refuses the whole command", async () => {
    const pid = (await jobs()).sleeper!.pid;
    const r = await client("stop", "sleeper", "nope");
    expect(r).toEqual({ code: 4, stdout: "", stderr: 'pmtr: no job named "nope"\n' });
    expect((await jobs()).sleeper!.pid).toBe(pid);
  });

  test("signal reaches the job's process group; the job keeps running", async () => {
    const pid = (await jobs()).trapper!.pid;
    const r = await client("signal", "HUP", "trapper");
    expect(r).toEqual({ code: 0, stdout: `trapper: sent SIGHUP [${pid}]\n`, stderr: "" });
    await waitFor("the trap to run", () => readOr(hupFile).includes("hup"));
    expect((await jobs()).trapper!.pid).toBe(pid);
    const down = await client("signal", "USR1", "off");
    expect(down.code).toBe(1);
    expect(down.stderr).toBe("pmtr: off: not running (disabled); no SIGUSR1 sent\n");
    expect((await client("signal", "NOPE", "trapper")).code).toBe(2);
  });

  test("reload: applied, or the errors and exit 1", async () => {
    expect(await client("reload")).toEqual({ code: 0, stdout: "configuration reloaded\n", stderr: "" });
    writeFileSync(conf, `${CONFIG}\nbogus line\n`);
    const bad = await client("reload");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("unknown keyword");
    expect(bad.stderr).toEndWith("pmtr: the configuration has errors; pmtr keeps the previous one\n");
    writeFileSync(conf, CONFIG);
  });
});

describe("access", () => {
  test("the socket is mode 0600, owned by pmtr's user", () => {
    const st = lstatSync(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());
  });

  test("another user cannot connect", async () => {
    const proc = Bun.spawn(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", PMTR, "-s", sock, "status"], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, stdout, stderr }).toEqual({ code: 4, stdout: "", stderr: `pmtr: permission denied on ${sock}: only the user pmtr runs as may use it (try sudo)\n` });
  });

  test("a second pmtr given the same socket refuses to start (exit 3) and leaves the first one's socket alone", async () => {
    const conf2 = writeConfig(dir, "job {\n  name other\n  cmd /bin/sleep 600\n}\n", "other.conf");
    const second = await runPmtr(["-F", "-c", conf2, "-s", sock]);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`another pmtr [${pmtr.pid}] is running on ${sock}`);
    expect(second.stderr).not.toContain("started job other");
    expect((await jobs()).sleeper).toBeDefined();
  });
});

test("a reader that goes away early (| true) gets no stack trace", async () => {
  const proc = Bun.spawn(["/bin/sh", "-c", `"${PMTR}" -s "${sock}" status --json | true`], { stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
});

test("no daemon: one line, exit 4", async () => {
  const r = await runPmtr(["-s", join(dir, "none.sock"), "status"]);
  expect(r).toEqual({ code: 4, stdout: "", stderr: `pmtr: pmtr is not running (no control socket ${join(dir, "none.sock")}; if pmtr was started with -s PATH, give the same -s)\n` });
});

test("a stale socket is replaced; the socket is removed at exit", async () => {
  const d = tempDir("pmtr-stale-");
  const s = join(d, "p.sock");
  const c = writeConfig(d, "job {\n  name a\n  cmd /bin/sleep 600\n}\n");
  try {
    const first = new Pmtr(["-F", "-c", c, "-s", s]);
    await waitFor("first socket", async () => (await runPmtr(["-s", s, "status", "a"])).code === 0, 10_000);
    const jobPid = JSON.parse((await runPmtr(["-s", s, "status", "--json"])).stdout).jobs[0].pid;
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    try {
      process.kill(-jobPid, "SIGKILL"); // its job, orphaned by the SIGKILL
    } catch {
      // already gone
    }
    expect(lstatSync(s).isSocket()).toBe(true);
    expect((await runPmtr(["-s", s, "status"])).stderr).toContain("pmtr is not running");

    const second = new Pmtr(["-F", "-c", c, "-s", s]);
    await waitFor("second socket", async () => (await runPmtr(["-s", s, "status", "a"])).code === 0, 10_000);
    expect(await second.stop()).toBe(0);
    expect(() => lstatSync(s)).toThrow();
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
