// Live reload, end to end (issue 4): `depends` files are watched like the configuration itself
// (rename-safe, re-created files noticed) and a change restarts exactly the job listing the
// file; a change of `report to` / `listen on` takes effect without touching any job, and a
// broken save keeps the UDP sockets as they were.

import { afterAll, afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { renameSync, unlinkSync, writeFileSync } from "node:fs";
import {
  FIXTURES, isAlive, join, jobRunning, pidsWithArg, type Pmtr, rmSync, startedPids, tempDir, waitFor, withPmtr,
  writeConfig,
} from "../helpers.ts";

const SLEEPER = join(FIXTURES, "reload/sleeper.sh");
const TAG = `reload-deps-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function newDir(): string {
  const dir = tempDir("pmtr-reload-deps-");
  dirs.push(dir);
  return dir;
}

function sleeper(name: string, ...lines: string[]): string {
  return [`job {`, `  name ${name}`, `  cmd ${SLEEPER} ${marker(name)}`, ...lines.map((l) => `  ${l}`), `}`, ``].join("\n");
}
function saveByRename(path: string, content: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Nothing in the log since `from` started, stopped or restarted a job. */
function expectNoJobChange(p: Pmtr, from: number): void {
  const since = p.stderr.slice(from);
  for (const phrase of ["started job", "stopping job", "restarting job", "sending SIGTERM", "changed, restarting"]) {
    expect(since).not.toContain(phrase);
  }
}

describe("depends", () => {
  test("a depends file replaced by rename, or deleted and re-created, restarts exactly the job listing it", async () => {
    const dir = newDir();
    const dep1 = join(dir, "dep1.conf");
    const dep2 = join(dir, "dep2.conf");
    writeFileSync(dep1, "one\n");
    writeFileSync(dep2, "two\n");
    const conf = writeConfig(dir, sleeper("d1", "depends {", `  ${dep1}`, "}") + sleeper("d2", "depends {", `  ${dep2}`, "}") + sleeper("plain"));
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      const d1 = await jobRunning(p, "d1", marker("d1"));
      const d2 = await jobRunning(p, "d2", marker("d2"));
      const plain = await jobRunning(p, "plain", marker("plain"));

      saveByRename(dep1, "one, edited\n");
      await p.waitLog(`${dep1} changed, restarting job d1`);
      const d1b = await waitFor("d1 running again", () => {
        const pid = startedPids(p.stderr, "d1").at(-1)!;
        return pid !== d1 && isAlive(pid) && pidsWithArg(marker("d1")).length === 1 ? pid : 0;
      });
      expect(isAlive(d1)).toBe(false);

      // Same content again by rename: not a change.
      let from = p.stderr.length;
      saveByRename(dep1, "one, edited\n");
      await Bun.sleep(300); // settle: nothing may happen
      expectNoJobChange(p, from);

      // Deleted and written anew with other content: d2 ends up running again, afresh.
      unlinkSync(dep2);
      writeFileSync(dep2, "two, edited\n");
      await waitFor("d2 running again", () => {
        const pid = startedPids(p.stderr, "d2").at(-1)!;
        return pid !== d2 && isAlive(pid) && pidsWithArg(marker("d2")).length === 1 ? pid : 0;
      });
      await Bun.sleep(300);

      expect(startedPids(p.stderr, "d1")).toEqual([d1, d1b]);
      expect(startedPids(p.stderr, "plain")).toEqual([plain]);
      expect(isAlive(plain) && isAlive(d1b)).toBe(true);
      expect(p.stderr).not.toContain("restarting job plain");
      expect(p.stderr).not.toMatch(/changed, restarting job plain/);
    });
  }, 20_000);
});

describe("report to / listen on", () => {
  const sockets: dgram.Socket[] = [];
  afterAll(() => {
    for (const s of sockets) s.close();
  });
  async function collector(): Promise<{ port: number; got: { at: number; text: string }[] }> {
    const s = dgram.createSocket("udp4");
    sockets.push(s);
    const got: { at: number; text: string }[] = [];
    s.on("message", (m) => got.push({ at: Date.now(), text: m.toString() }));
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
    return { port: s.address().port, got };
  }
  async function freePort(): Promise<number> {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
    const port = s.address().port;
    s.close();
    return port;
  }
  async function send(port: number, text: string): Promise<void> {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => s.send(text, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    s.close();
  }

  test("changed in the file: no job restarts, the new addresses are used; a broken save keeps them", async () => {
    const dir = newDir();
    const oldReports = await collector();
    const newReports = await collector();
    const listenPort = await freePort();
    const jobs = sleeper("a") + sleeper("b");
    const conf = writeConfig(dir, `report to udp://127.0.0.1:${oldReports.port}\n${jobs}`);
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      const a = await jobRunning(p, "a", marker("a"));
      const b = await jobRunning(p, "b", marker("b"));

      const from = p.stderr.length;
      const rescans = p.count(/rescanning job configuration/);
      saveByRename(conf, `report to udp://127.0.0.1:${newReports.port}\nlisten on udp://127.0.0.1:${listenPort}\n${jobs}`);
      await waitFor("a rescan", () => p.count(/rescanning job configuration/) > rescans);
      await Bun.sleep(300); // settle: no job may be touched
      expectNoJobChange(p, from);
      expect(pidsWithArg(marker("a"))).toEqual([a]);
      expect(pidsWithArg(marker("b"))).toEqual([b]);

      // The new `listen on` works, and the state change is reported to the new address only.
      const disabledAt = Date.now();
      await send(listenPort, "disable a\n");
      await waitFor("job a stopped over UDP", () => pidsWithArg(marker("a")).length === 0);
      await waitFor("a report of a disabled to the new address", () =>
        newReports.got.some((r) => r.at >= disabledAt && /^a d /m.test(r.text)));
      expect(oldReports.got.filter((r) => r.at >= disabledAt)).toEqual([]);
      expect(isAlive(b)).toBe(true);

      // A broken save keeps the sockets: `enable a` still arrives.
      saveByRename(conf, `listen on udp://127.0.0.1:${listenPort}\nbogus\n${jobs}`);
      await p.waitLog("keeping the previous configuration");
      await send(listenPort, "enable a\n");
      const a2 = await jobRunning(p, "a", marker("a"));
      expect(a2).not.toBe(a);
      expect(startedPids(p.stderr, "b")).toEqual([b]);
    });
  }, 20_000);
});
