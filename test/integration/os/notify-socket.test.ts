// A job's notify socket against the real systemd-notify (Debian's systemd package), which
// speaks the protocol exactly as libsystemd's sd_notify does, BARRIER=1 and its fd included.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openNotifySocket, type NotifySocket } from "../../../src/os/notify/socket.ts";
import { waitFor } from "../../helpers.ts";

const SYSTEMD_NOTIFY = "/usr/bin/systemd-notify";
const dir = mkdtempSync(join(tmpdir(), "pmtr-notify-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function open(name: string, owner = { uid: 0, gid: 0 }): NotifySocket {
  const r = openNotifySocket(join(dir, name), owner, unlinkSync);
  if (!r.ok) throw new Error(r.message);
  return r.socket;
}

async function drainUntil(socket: NotifySocket, want: (texts: string[]) => boolean): Promise<string[]> {
  const texts: string[] = [];
  await waitFor("datagrams", () => {
    for (const d of socket.drain(16)) texts.push(d.text ?? "<too long>");
    return want(texts);
  }, 10_000, 5);
  return texts;
}

describe("notify socket", () => {
  test("systemd-notify --ready: datagrams arrive one by one, and its barrier fd is closed so it exits", async () => {
    expect(statSync(SYSTEMD_NOTIFY).isFile()).toBe(true); // Debian package: systemd
    const socket = open("a.sock");
    const child = Bun.spawn([SYSTEMD_NOTIFY, "--ready", "--status=warming up"], { env: { NOTIFY_SOCKET: socket.path } });
    const texts = await drainUntil(socket, (t) => t.some((x) => x.includes("READY=1")));
    expect(texts[0]).toContain("READY=1");
    expect(texts[0]).toContain("STATUS=warming up");
    // Without the barrier fd closed, systemd-notify waits (5 s) and then fails.
    await drainUntil(socket, () => child.exitCode !== null);
    expect(child.exitCode).toBe(0);
    socket.close();
  });

  test("only the owner may send: the socket is mode 0600 and owned by the job's user", () => {
    const socket = open("b.sock", { uid: 65534, gid: 65534 });
    const st = statSync(socket.path);
    expect(st.mode & 0o777).toBe(0o600);
    expect([st.uid, st.gid]).toEqual([65534, 65534]);
    socket.close();
    expect(() => statSync(socket.path)).toThrow();
  });

  test("a datagram longer than the limit is reported as such, not merged or cut into a valid one", async () => {
    const socket = open("c.sock");
    const long = `READY=1\nSTATUS=${"x".repeat(8000)}`;
    const child = Bun.spawn([SYSTEMD_NOTIFY, "--no-block", long.split("\n")[1]!, "READY=1"], { env: { NOTIFY_SOCKET: socket.path } });
    await child.exited;
    const texts = await drainUntil(socket, (t) => t.length >= 1);
    expect(texts[0]).toBe("<too long>");
    socket.close();
  });
});
