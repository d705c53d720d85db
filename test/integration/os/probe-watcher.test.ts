// The readiness watcher and the notify hub with real listeners and the real systemd-notify:
// what the supervisor is told, in order.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotifyHub } from "../../../src/os/notify/hub.ts";
import { ProbeWatcher } from "../../../src/os/probe/watcher.ts";
import type { ProbeResult } from "../../../src/os/probe/result.ts";
import { waitFor } from "../../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "pmtr-watch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Event = [string, ...unknown[]];
function recorder() {
  const events: Event[] = [];
  const watcher = new ProbeWatcher({
    ready: (name, pid) => events.push(["ready", name, pid]),
    notReady: (name, _pid, error) => events.push(["notReady", name, error]),
    unhealthy: (name, pid, failures, error) => events.push(["unhealthy", name, pid, failures, error]),
  });
  return { events, watcher };
}
const noExec = async (): Promise<ProbeResult> => ({ ok: false, error: "no exec here" });
const target = (name: string) => ({ name, pid: 4242, runStartedAtEpochMs: Date.now(), exec: noExec });

describe("ready probes", () => {
  test("refused until the listener appears, then ready once, then nothing more", async () => {
    const hold = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = hold.port;
    hold.stop(true);
    const { events, watcher } = recorder();
    watcher.startReady(target("db"), { probe: { kind: "tcp", host: "127.0.0.1", port }, withinMs: 60_000 });
    await waitFor("a failed attempt", () => events.length >= 2);
    const listener = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    await waitFor("ready", () => events.some((e) => e[0] === "ready"), 10_000);
    expect(events.at(-1)).toEqual(["ready", "db", 4242]);
    expect(events[0]).toEqual(["notReady", "db", `connect 127.0.0.1:${port}: Connection refused`]);
    expect(watcher.probing()).toEqual([]);
    listener.stop(true);
  });

  test("stop() ends probing: no event after it", async () => {
    const { events, watcher } = recorder();
    watcher.startReady(target("x"), { probe: { kind: "file", path: join(dir, "never") }, withinMs: 60_000 });
    await waitFor("an attempt", () => events.length >= 1);
    watcher.stop("x");
    const seen = events.length;
    await Bun.sleep(0); // let an in-flight attempt resolve: its result must be dropped
    await new Promise((r) => setTimeout(r, 450)); // two poll periods: a leaked timer would fire
    expect(events.length).toBe(seen);
  });
});

describe("health checks", () => {
  test("K failures in a row make the job unhealthy once, naming the last error", async () => {
    let status = 200;
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("", { status }) });
    const { events, watcher } = recorder();
    watcher.startChecks(target("web"), { probe: { kind: "http", url: `http://127.0.0.1:${server.port}/healthz` }, everyMs: 30, timeoutMs: 1000, failures: 3 });
    await new Promise((r) => setTimeout(r, 200));
    expect(events).toEqual([]);
    status = 500;
    await waitFor("unhealthy", () => events.length > 0, 10_000);
    expect(events).toEqual([["unhealthy", "web", 4242, 3, "http 500"]]);
    expect(watcher.probing()).toEqual([]);
    server.stop(true);
  });
});

describe("notify hub", () => {
  test("READY=1 from the job's socket makes it ready; STATUS is passed on", async () => {
    const events: Event[] = [];
    const hub = new NotifyHub(join(dir, "notify"), {
      ready: (n) => events.push(["ready", n]),
      status: (n, t) => events.push(["status", n, t]),
      stopping: (n) => events.push(["stopping", n]),
    }, (m) => events.push(["warn", m]));
    const sock = hub.socketFor("api", { uid: 0, gid: 0 });
    if (!sock.ok) throw new Error(sock.message);
    expect(sock.path.length).toBeLessThan(108);
    expect(hub.socketFor("api", { uid: 0, gid: 0 })).toEqual(sock);
    hub.expect("api");
    const child = Bun.spawn(["/usr/bin/systemd-notify", "--ready", "--status=serving"], { env: { NOTIFY_SOCKET: sock.path } });
    await waitFor("ready", () => events.some((e) => e[0] === "ready"), 10_000);
    expect(events).toEqual([["status", "api", "serving"], ["ready", "api"]]);
    expect(await child.exited).toBe(0);
    hub.close();
  });
});
