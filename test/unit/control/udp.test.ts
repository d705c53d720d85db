// UDP report and listen in one process, over real loopback sockets, against a fake supervisor.

import { afterEach, beforeEach, expect, test } from "bun:test";
import dgram from "node:dgram";
import { networkInterfaces } from "node:os";
import type { UdpAddress } from "../../../src/config/model.ts";
import { IGNORED_BURST } from "../../../src/control/ignored-log.ts";
import { UdpControl } from "../../../src/control/udp.ts";
import { waitFor } from "../../helpers.ts";
import { FakeTarget, job } from "./fake-target.ts";

let collector: dgram.Socket | null;
let received: string[];
let logs: string[];
let target: FakeTarget;
let udp: UdpControl;
const log = (level: string, message: string) => void logs.push(`${level}: ${message}`);
const at = (port: number, host = "127.0.0.1"): UdpAddress => ({ host, port, iface: null });

async function bindCollector(): Promise<number> {
  collector = dgram.createSocket("udp4");
  collector!.on("message", (m) => received.push(m.toString()));
  await new Promise<void>((resolve) => collector!.bind(0, "127.0.0.1", resolve));
  return collector!.address().port;
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  s.close();
  return port;
}

async function sendTo(port: number, text: string | Uint8Array): Promise<void> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => s.send(text, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
  s.close();
}

beforeEach(() => {
  received = [];
  collector = null;
  logs = [];
  target = new FakeTarget([job("web", { pid: 42, sinceStartMs: 3_400, cmd: "/usr/sbin/web" }), job("off", { state: "disabled", enabled: false, pid: null, sinceStartMs: null })]);
  udp = new UdpControl(target, log, { hostname: "testhost", intervalMs: 200 });
});
afterEach(() => {
  udp.close();
  collector?.close();
  collector = null;
});

test("a report at once on configure, then periodically, in upstream's format", async () => {
  const port = await bindCollector();
  udp.configure([at(port)], null);
  await waitFor("first report", () => received.length >= 1);
  expect(received[0]).toBe("report testhost\nweb e 3 42 /usr/sbin/web\noff d 0 0 /bin/off\n");
  await waitFor("periodic reports", () => received.length >= 3);
});

test("a burst of changes in one turn is one datagram", async () => {
  const port = await bindCollector();
  udp = new UdpControl(target, log, { hostname: "testhost", intervalMs: 60_000 });
  udp.configure([at(port)], null);
  await waitFor("first report", () => received.length === 1);
  target.update("web", { pid: 43 });
  udp.changed();
  udp.changed();
  udp.changed();
  await waitFor("report after change", () => received.length === 2);
  expect(received[1]).toContain("web e 3 43 /usr/sbin/web\n");
  // Let any stray extra datagram arrive before counting.
  await sendTo(port, "marker");
  await waitFor("marker", () => received.includes("marker"));
  expect(received.length).toBe(3);
});

test("several destinations each get the report; a removed one stops getting it", async () => {
  const port = await bindCollector();
  const second = dgram.createSocket("udp4");
  const got2: string[] = [];
  second.on("message", (m) => got2.push(m.toString()));
  await new Promise<void>((r) => second.bind(0, "127.0.0.1", r));
  try {
    udp.configure([at(port), at(second.address().port)], null);
    await waitFor("both", () => received.length >= 1 && got2.length >= 1);
    udp.configure([at(port)], null);
    const before = got2.length;
    const seen = received.length;
    await waitFor("two more reports to the first", () => received.length >= seen + 2);
    expect(got2.length).toBeLessThanOrEqual(before + 1);
  } finally {
    second.close();
  }
});

test("listen: enable/disable forms reach setEnabled; unknown names and junk are logged", async () => {
  const port = await freePort();
  udp.configure([], at(port));
  await sendTo(port, "disable web\n");
  await waitFor("disable", () => target.calls.includes("disable web"));
  await sendTo(port, "  enable web off  ");
  await waitFor("enable two", () => target.calls.includes("enable web off"));
  await sendTo(port, "enable a disable web");
  await waitFor("mode switch", () => target.calls.includes("disable web") && target.calls.includes("enable a"));
  expect(logs).toContain("info: control msg for unknown job a");
  await sendTo(port, "reboot now");
  await waitFor("junk logged", () => logs.some((l) => l.includes('control datagram "reboot now" ignored')));
  await sendTo(port, new Uint8Array(3000).fill(0x61));
  await waitFor("oversize logged", () => logs.some((l) => l.includes("control datagram of 3000 bytes ignored")));
  expect(target.calls).toEqual(["disable web", "enable web off", "enable a", "disable web"]);
});

test("listen: a flood of junk and of unknown names is logged at a bounded rate; commands that act always are", async () => {
  const port = await freePort();
  udp.configure([], at(port));
  for (let i = 0; i < IGNORED_BURST; i++) await sendTo(port, `junk ${i}`);
  // Past the burst: one real job among a thousand unknown names acts and is said, its unknown
  // names are not; pure junk is only counted.
  await sendTo(port, `enable web ${Array.from({ length: 300 }, (_, i) => `x${i}`).join(" ")}`);
  for (let i = 0; i < 50; i++) await sendTo(port, i % 2 ? "reboot" : "enable nosuchjob");
  await sendTo(port, "disable web");
  await waitFor("the last command", () => target.calls.includes("disable web"));
  expect(logs.filter((l) => l.includes('control datagram "junk'))).toHaveLength(IGNORED_BURST);
  expect(logs.filter((l) => l.includes("unknown job") || l.includes("reboot") || l.includes("nosuchjob"))).toEqual([]);
  expect(logs.filter((l) => l.startsWith("info: udp control from 127.0.0.1:")).map((l) => l.split(": ").at(-1)!.slice(0, 14))).toEqual(["enable web x0 ", "disable web"]);
  udp.close();
  expect(logs.at(-1)).toBe(`warning: 51 more ignored control datagrams not logged one by one (at most ${IGNORED_BURST} a minute are)`);
});

test("listen: reconfigure to the same address keeps the socket; a new one moves", async () => {
  const port = await freePort();
  udp.configure([], at(port));
  udp.configure([], at(port)); // would fail with EADDRINUSE if it re-bound
  await sendTo(port, "disable web");
  await waitFor("still listening", () => target.calls.length === 1);
  const port2 = await freePort();
  udp.configure([], at(port2));
  await sendTo(port2, "enable web");
  await waitFor("moved", () => target.calls.length === 2);
  expect(logs.filter((l) => l.startsWith("err"))).toEqual([]);
});

test("listen: a bind failure is one logged line, not fatal", async () => {
  const port = await bindCollector();
  udp.configure([], at(port));
  await waitFor("bind error", () => logs.some((l) => l.startsWith(`err: cannot listen on udp://127.0.0.1:${port}:`)));
  expect(logs).toContain(`err: cannot listen on udp://127.0.0.1:${port}: Address already in use (UDP control is off until the configuration changes)`);
});

test("listen: a non-loopback address earns a warning each time it is configured", async () => {
  const port = await freePort();
  udp.configure([], at(port, "0.0.0.0"));
  udp.configure([], at(port, "0.0.0.0"));
  expect(logs.filter((l) => l.includes("UDP control is unauthenticated")).length).toBe(2);
  udp.configure([], at(port));
  expect(logs.filter((l) => l.includes("UDP control is unauthenticated")).length).toBe(2);
});

test("report to an address the kernel refuses: a warning in strerror's words", async () => {
  // Broadcast without SO_BROADCAST: sendto says EACCES every time.
  udp.configure([{ host: "255.255.255.255", port: 9, iface: null }], null);
  udp.changed();
  await waitFor("send error", () => logs.some((l) => l.startsWith("warning: cannot report to")));
  expect(logs).toContain("warning: cannot report to udp://255.255.255.255:9: Permission denied");
});

test("report to an interface that does not exist: one line, nothing sent", () => {
  udp.configure([{ host: "239.255.0.1", port: 9, iface: "nosuch0" }], null);
  expect(logs).toContain("err: report to udp://239.255.0.1:9@nosuch0: no interface nosuch0 with an IPv4 address; not reporting there (check the interface name, then reload)");
});

test("report to a multicast group leaves by the named interface", async () => {
  // Any interface with an IPv4 address that is not loopback (lo usually lacks MULTICAST).
  const [iface, address] = Object.entries(networkInterfaces())
    .flatMap(([name, list]) => (list ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => [name, a.address] as const))[0] ?? [];
  expect(iface).toBeDefined();
  const group = "239.255.77.1";
  const member = dgram.createSocket({ type: "udp4", reuseAddr: true });
  const got: string[] = [];
  member.on("message", (m) => got.push(m.toString()));
  await new Promise<void>((r) => member.bind(0, r));
  try {
    member.addMembership(group, address);
    udp.configure([{ host: group, port: member.address().port, iface: iface! }], null);
    // Multicast loopback (on by default) delivers our own group traffic to local members.
    await waitFor("multicast report", () => got.length >= 1);
    expect(got[0]).toStartWith("report testhost\n");
  } finally {
    member.close();
  }
});
