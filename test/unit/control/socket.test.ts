// The control server and client in one process, against a fake supervisor, over a real
// unix socket in a temporary directory.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chownSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ControlRequest } from "../../../src/control/protocol.ts";
import { MAX_MESSAGE_BYTES } from "../../../src/control/protocol.ts";
import { runClient, type ClientIo } from "../../../src/control/socket-client.ts";
import { startControlServer, type ControlServer } from "../../../src/control/socket-server.ts";
import { FakeTarget, job } from "./fake-target.ts";

let dir: string;
let path: string;
let target: FakeTarget;
let server: ControlServer | null;
const logs: string[] = [];
const log = (level: string, message: string) => void logs.push(`${level}: ${message}`);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pmtr-ctl-"));
  path = join(dir, "pmtr.sock");
  target = new FakeTarget([
    job("web", { pid: 4194305, sinceStartMs: 125_000, restarts: 1, reason: "up 2m05s", lastExit: { kind: "signaled", signal: "SIGTERM", atMs: 1_000, ranMs: 60_000 } }),
    job("off", { state: "disabled", enabled: false, pid: null, reason: "disabled in pmtr.conf:12" }),
  ]);
  server = null;
  logs.length = 0;
});
afterEach(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<ControlServer> {
  const result = await startControlServer(path, target, log);
  if (!result.ok) throw new Error(result.message);
  server = result.server;
  return server;
}

async function client(request: ControlRequest, json = false, socketPath: string | null = path) {
  let out = "";
  let err = "";
  const io: ClientIo = { out: (t) => void (out += t), err: (t) => void (err += t), uid: 0, env: {} };
  const code = await runClient(request, { json, socketPath }, io);
  return { code, out, err };
}

describe("the socket file", () => {
  test("is created mode 0600 and removed on close", async () => {
    const s = await start();
    const st = lstatSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    s.close();
    server = null;
    expect(() => lstatSync(path)).toThrow();
  });

  test("pmtr's umask is restored after the bind, success or failure", async () => {
    const before = process.umask();
    await start();
    expect(process.umask()).toBe(before);
    await startControlServer(join(dir, "no/such/dir.sock"), target, log);
    expect(process.umask()).toBe(before);
  });

  test("a stale socket (nothing listening) is replaced", async () => {
    // A socket file with no listener: bind one in a child that is then killed.
    const child = Bun.spawn([process.execPath, "-e", `Bun.listen({unix:${JSON.stringify(path)},socket:{data(){}}}); console.log("up")`], { stdout: "pipe" });
    await child.stdout.getReader().read();
    child.kill("SIGKILL");
    await child.exited;
    expect(lstatSync(path).isSocket()).toBe(true);
    await start();
    expect((await client({ op: "status", names: [] })).code).toBe(0);
  });

  test("a live socket is left alone", async () => {
    await start();
    const second = await startControlServer(path, target, log);
    expect(second).toEqual({ ok: false, message: `control socket ${path} is in use by another pmtr (stop it, or give this one another path with -s)` });
  });

  test("a symlink or a regular file is never replaced", async () => {
    symlinkSync(join(dir, "elsewhere"), path);
    expect(await startControlServer(path, target, log)).toEqual({ ok: false, message: `control socket ${path} is a symbolic link; refusing to replace it (remove it, or choose another path with -s)` });
    rmSync(path);
    writeFileSync(path, "precious");
    expect(await startControlServer(path, target, log)).toEqual({ ok: false, message: `control socket ${path} exists and is not a socket; refusing to replace it (remove it, or choose another path with -s)` });
  });

  test("a directory that does not exist is one clear line", async () => {
    const result = await startControlServer(join(dir, "no/such/dir.sock"), target, log);
    expect(result).toEqual({ ok: false, message: `cannot listen on control socket ${join(dir, "no/such/dir.sock")}: the directory does not exist (give another path with -s)` });
  });
});

describe("status", () => {
  test("table, exit 3 when a job is down... unless it is down on purpose", async () => {
    await start();
    const { code, out, err } = await client({ op: "status", names: [] });
    expect(err).toBe("");
    expect(out).toBe(
      "NAME  STATE     PID      RESTARTS  LAST EXIT  INFO\n" +
      "web   running   4194305  1         SIGTERM    up 2m05s\n" +
      "off   disabled  -        0         -          disabled in pmtr.conf:12\n",
    );
    expect(code).toBe(0);
    expect((await client({ op: "status", names: ["web"] })).code).toBe(0);
    expect((await client({ op: "status", names: ["web", "off"] })).code).toBe(3);
  });

  test("the table's answer carries only its columns; --json (detail) and names get every field", async () => {
    await start();
    const ask = async (line: string) => {
      let got = "";
      await new Promise<void>(async (resolve) => {
        const s = await Bun.connect({ unix: path, socket: { data(_s, c) { got += c.toString(); }, close: () => resolve() } });
        s.write(`${line}\n`);
      });
      return JSON.parse(got).jobs[0];
    };
    expect(Object.keys(await ask('{"op":"status"}'))).toEqual(["name", "state", "reason", "enabled", "pid", "uptimeSec", "restarts", "lastExit"]);
    expect(Object.keys(await ask('{"op":"status","detail":true}'))).toContain("argv");
    expect(Object.keys(await ask('{"op":"status","names":["web"]}'))).toContain("usage");
  });

  test("named: the detail view of each job", async () => {
    await start();
    const { code, out } = await client({ op: "status", names: ["web"] });
    expect(code).toBe(0);
    expect(out.split("\n").slice(0, 3)).toEqual(["web", "  state       running: up 2m05s", "  pid         4194305"]);
    expect(out).toContain("  command     /bin/web\n");
  });

  test("an unknown name: exit 4 and one line", async () => {
    await start();
    const { code, out, err } = await client({ op: "status", names: ["web", "nope"] });
    expect(code).toBe(4);
    expect(err).toBe('pmtr: no job named "nope"\n');
    expect(out).toContain("web");
  });

  test("--json", async () => {
    await start();
    const { code, out } = await client({ op: "status", names: ["web"] }, true);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      jobs: [{
        name: "web", state: "running", reason: "up 2m05s", enabled: true, pid: 4194305, uptimeSec: 125, startedAt: null, restarts: 1,
        lastExit: { kind: "signaled", signal: "SIGTERM", atMs: 1000, ranMs: 60000 }, lastStartError: null, nextRestartAt: null, exits: [],
        ready: true, statusText: null, cmd: "/bin/web", argv: ["/bin/web"], user: null, dir: "/", out: "/dev/null", err: "/dev/null",
        source: { file: "/etc/pmtr.conf", line: 1 },
        usage: null, // no process has that pid: above the kernel's PID_MAX_LIMIT (2^22)
      }],
      unknown: [],
    });
  });
});

describe("actions", () => {
  test("start waits for the job to run and reports its pid", async () => {
    await start();
    target.update("off", { state: "stopped" });
    target.act = (op, names) => setTimeout(() => { target.update(names[0]!, { state: "running", pid: 777 }); server!.changed(); }, 20);
    const { code, out, err } = await client({ op: "start", names: ["off", "web"] });
    expect({ code, out, err }).toEqual({ code: 0, out: "off: started [777]\nweb: already running [4194305]\n", err: "" });
    expect(target.calls).toEqual(["start off"]);
  });

  test("stop reports once the process is gone", async () => {
    await start();
    target.act = () => {
      target.update("web", { state: "stopping" });
      setTimeout(() => { target.update("web", { state: "stopped", pid: null }); server!.changed(); }, 30);
    };
    expect(await client({ op: "stop", names: ["web"] })).toEqual({ code: 0, out: "web: stopped\n", err: "" });
  });

  test("restart reports the new pid", async () => {
    await start();
    target.act = () => setTimeout(() => target.update("web", { pid: 5000 }), 10); // no changed(): the poll finds it
    expect(await client({ op: "restart", names: ["web"] })).toEqual({ code: 0, out: "web: restarted [5000]\n", err: "" });
  });

  // SPEC §10: a start is judged by what the job does in its first second.
  const says = (fields: object) => fields as never;

  test("a job that exits within 1 s of starting is a failure, with the supervisor's reason", async () => {
    await start();
    target.update("off", says({ state: "stopped", reason: "stopped by pmtr stop at 14:02" }));
    target.act = () => {
      setTimeout(() => { target.update("off", says({ state: "running", pid: 777, reason: "up 0 s" })); server!.changed(); }, 10);
      setTimeout(() => {
        target.update("off", says({ state: "backoff", pid: null, restarts: 1, reason: "exit 3 after 0.3 s; restart in 10 s (attempt 1)", lastExit: { kind: "exited", code: 3 } }));
        server!.changed();
      }, 300);
    };
    expect(await client({ op: "start", names: ["off"] })).toEqual({ code: 1, out: "", err: "pmtr: off: not running (backoff): exit 3 after 0.3 s; restart in 10 s (attempt 1)\n" });
  });

  test("a job that keeps running for 1 s is started", async () => {
    await start();
    target.update("off", says({ state: "stopped", reason: "stopped by pmtr stop at 14:02" }));
    target.act = () => setTimeout(() => { target.update("off", says({ state: "running", pid: 777, reason: "up 0 s" })); server!.changed(); }, 10);
    const t0 = performance.now();
    expect(await client({ op: "start", names: ["off"] })).toEqual({ code: 0, out: "off: started [777]\n", err: "" });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000); // the rule itself, not a speed bound
  });

  test("a waiting job answers at once, naming what it waits for", async () => {
    await start();
    target.update("off", says({ state: "stopped", reason: "stopped by pmtr stop at 14:02" }));
    target.act = () => target.update("off", says({ state: "waiting", reason: "waiting for db to be ready" }));
    expect(await client({ op: "start", names: ["off"] })).toEqual({ code: 1, out: "", err: "pmtr: off: not started: waiting for db to be ready\n" });
  });

  test("exit 0 of a job that is then done (once, restart on-failure) is a success", async () => {
    await start();
    target.update("off", says({ state: "done", reason: "exit 0 after 2 s: not restarted", lastExit: { kind: "exited", code: 0, atMs: 1 } }));
    target.act = () => {
      target.update("off", says({ state: "running", pid: 778, reason: "up 0 s" }));
      setTimeout(() => {
        target.update("off", says({ state: "done", pid: null, restarts: 1, reason: "exit 0 after 0.1 s: not restarted", lastExit: { kind: "exited", code: 0, atMs: 2 } }));
        server!.changed();
      }, 100);
    };
    expect(await client({ op: "start", names: ["off"] })).toEqual({ code: 0, out: "off: ran and exited 0 (exit 0 after 0.1 s: not restarted)\n", err: "" });
  });

  test("a job waiting for another one of the same command gets its answer after the rest", async () => {
    target.jobs = [
      job("db", { state: "stopped", pid: null, reason: "stopped by pmtr stop at 14:02" }),
      job("api", { state: "stopped", pid: null, reason: "stopped by pmtr stop at 14:02" }),
    ];
    await start();
    target.act = () => {
      target.update("db", { state: "running", pid: 801, reason: "up 0 s" });
      target.update("api", { state: "waiting", reason: "waiting for db to be started" });
      setTimeout(() => { target.update("api", { state: "running", pid: 802, reason: "up 0 s" }); server!.changed(); }, 200);
    };
    expect(await client({ op: "start", names: [], all: true })).toEqual({ code: 0, out: "db: started [801]\napi: started [802]\n", err: "" });
  });

  test("the daemon waits as long as the job's own deadline says, then names where it is stuck", async () => {
    await start();
    target.update("off", says({ state: "stopped", reason: "stopped by pmtr stop at 14:02", deadlineMs: 300 }));
    expect(await client({ op: "start", names: ["off"] })).toEqual({ code: 1, out: "", err: "pmtr: off: not running after 0.3 s: stopped: stopped by pmtr stop at 14:02\n" });
  });

  test("the answer to an action starts with the deadline, on a line of its own", async () => {
    await start();
    target.update("off", says({ state: "stopped", reason: "stopped", deadlineMs: 200 }));
    let got = "";
    await new Promise<void>(async (resolve) => {
      const s = await Bun.connect({ unix: path, socket: { data(_s, c) { got += c.toString(); }, close: () => resolve() } });
      s.write('{"op":"start","names":["off"]}\n');
    });
    const lines = got.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ ok: true, op: "accepted", deadlineMs: 200 });
    expect(lines[1].op).toBe("action");
  });

  test("--all stands for every job", async () => {
    await start();
    target.act = (op, names) => {
      for (const name of names) target.update(name, { state: "stopped", pid: null });
      server!.changed();
    };
    expect(await client({ op: "stop", names: [], all: true })).toEqual({ code: 0, out: "web: stopped\noff: stopped (was not running)\n", err: "" });
    expect(target.calls).toEqual(["stop web off"]);
  });

  test("an unknown job: nothing is done, exit 4", async () => {
    await start();
    expect(await client({ op: "stop", names: ["web", "nope"] })).toEqual({ code: 4, out: "", err: 'pmtr: no job named "nope"\n' });
    expect(target.calls).toEqual([]);
  });

  test("signal goes to the job's process group", async () => {
    // A real process group: a shell leading its own session, with a child.
    const proc = Bun.spawn(["/bin/sh", "-c", "sleep 30 & wait"], { detached: true, stdout: "ignore" });
    try {
      target.update("web", { pid: proc.pid });
      await start();
      const { code, out } = await client({ op: "signal", signal: "SIGTERM", names: ["web", "off"] });
      expect(code).toBe(1);
      expect(out).toBe(`web: sent SIGTERM [${proc.pid}]\n`);
      expect(await proc.exited).not.toBe(0);
      expect(logs).toContain(`info: sending SIGTERM to job web [${proc.pid}]`);
    } finally {
      proc.kill("SIGKILL");
    }
  });

  test("reload: applied, or the errors and exit 1", async () => {
    await start();
    expect(await client({ op: "reload" })).toEqual({ code: 0, out: "configuration reloaded\n", err: "" });
    target.reloadOutcome = { applied: false, messages: ["pmtr.conf:3: unknown keyword \"bogus\""] };
    expect(await client({ op: "reload" })).toEqual({
      code: 1, out: "", err: 'pmtr.conf:3: unknown keyword "bogus"\npmtr: the configuration has errors; pmtr keeps the previous one\n',
    });
  });
});

test("the client waits as long as the daemon's first line says, not a fixed time", async () => {
  // A daemon that accepts, says the outcome takes 0 ms, and then never answers.
  const listener = Bun.listen({ unix: path, socket: { data(s) { s.write('{"ok":true,"op":"accepted","deadlineMs":0}\n'); } } });
  try {
    const { code, err } = await client({ op: "restart", names: ["web"] });
    expect({ code, err }).toEqual({ code: 4, err: `pmtr: pmtr on ${path} did not answer within 5 s\n` });
  } finally {
    listener.stop(true);
  }
}, 20_000);

describe("bad peers and no daemon", () => {
  async function raw(bytes: string | Uint8Array): Promise<string> {
    let text = "";
    const { promise, resolve } = Promise.withResolvers<string>();
    const socket = await Bun.connect({ unix: path, socket: { data(_s, d) { text += d.toString(); }, close() { resolve(text); } } });
    socket.write(bytes);
    return promise;
  }

  test("junk and oversized requests get an error answer", async () => {
    await start();
    expect(JSON.parse(await raw("hello\n"))).toEqual({ ok: false, error: "request is not JSON" });
    expect(JSON.parse(await raw(new Uint8Array(MAX_MESSAGE_BYTES + 10).fill(0x61)))).toEqual({ ok: false, error: `request larger than ${MAX_MESSAGE_BYTES} bytes` });
    // Still serving.
    expect((await client({ op: "status", names: [] })).code).toBe(0);
  });

  test("no daemon: exit 4, one line", async () => {
    expect(await client({ op: "status", names: [] })).toEqual({
      code: 4, out: "", err: `pmtr: pmtr is not running (no control socket ${path}; if pmtr was started with -s PATH, give the same -s)\n`,
    });
  });

  test("a socket owned by someone else is not trusted", async () => {
    await start();
    chownSync(path, 1234, 1234);
    let err = "";
    const io: ClientIo = { out: () => {}, err: (t) => void (err += t), uid: 4321, env: {} };
    expect(await runClient({ op: "status", names: [] }, { json: false, socketPath: path }, io)).toBe(4);
    expect(err).toBe(`pmtr: control socket ${path} belongs to uid 1234, not to you or root; refusing to use it\n`);
  });
});
