// sd_notify against a real datagram socket standing in for systemd's $NOTIFY_SOCKET, by path
// and in the abstract namespace (as systemd itself uses).

import { afterEach, describe, expect, test } from "bun:test";
import { join, rmSync, tempDir } from "../../helpers.ts";
import { createNotifier, monotonicUsec, notifyMessage, watchdogIntervalMs } from "../../../src/os/self/sd-notify.ts";
import { DgramReceiver } from "./dgram-receiver.ts";

const receivers: DgramReceiver[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function systemd(address?: string): Promise<DgramReceiver> {
  if (address === undefined) {
    const dir = tempDir("pmtr-notify-");
    dirs.push(dir);
    address = join(dir, "notify");
  }
  const r = await DgramReceiver.start(address);
  receivers.push(r);
  return r;
}

describe("sd_notify", () => {
  test("every message pmtr sends, on a path socket", async () => {
    const r = await systemd();
    const n = createNotifier({ NOTIFY_SOCKET: r.address });
    expect(n.enabled).toBe(true);
    n.ready("2 jobs running");
    n.reloading();
    n.ready();
    n.status("3 jobs running");
    n.watchdog();
    n.stopping("stopping 3 jobs");
    n.extendTimeout(12_500);
    const got = await r.waitForCount(7);
    expect(got[0]).toBe("READY=1\nSTATUS=2 jobs running\n");
    expect(got[1]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=[1-9]\d*\n$/);
    expect(got.slice(2)).toEqual(["READY=1\n", "STATUS=3 jobs running\n", "WATCHDOG=1\n", "STOPPING=1\nSTATUS=stopping 3 jobs\n", "EXTEND_TIMEOUT_USEC=12500000\n"]);
    n.close();
  });

  test("an abstract socket (@name)", async () => {
    const r = await systemd(`@pmtr-test-${process.pid}-${Date.now()}`);
    const n = createNotifier({ NOTIFY_SOCKET: r.address });
    n.ready();
    expect(await r.waitForCount(1)).toEqual(["READY=1\n"]);
    n.close();
  });

  test("the variables are removed so jobs do not inherit them, unless asked not to", async () => {
    const r = await systemd();
    const env: Record<string, string | undefined> = { NOTIFY_SOCKET: r.address, WATCHDOG_USEC: "20000000", WATCHDOG_PID: String(process.pid), PATH: "/bin" };
    const n = createNotifier(env);
    expect(env).toEqual({ PATH: "/bin" });
    expect(n.watchdogMs).toBe(10_000); // read before removal
    const kept: Record<string, string | undefined> = { NOTIFY_SOCKET: r.address };
    createNotifier(kept, { unsetEnvironment: false }).close();
    expect(kept.NOTIFY_SOCKET).toBe(r.address);
    n.close();
  });

  test("STATUS is one line", () => {
    expect(notifyMessage({ STATUS: "a\nb\x1bc" })).toBe("STATUS=a b c\n");
  });

  test("no NOTIFY_SOCKET: disabled, every call a no-op", () => {
    const n = createNotifier({});
    expect([n.enabled, n.problem, n.watchdogMs]).toEqual([false, null, null]);
    n.ready("x");
    n.reloading();
    n.stopping();
    n.status("x");
    n.watchdog();
    n.close();
  });

  test("an unusable NOTIFY_SOCKET: disabled with a message to log", () => {
    expect(createNotifier({ NOTIFY_SOCKET: "relative/path" }).problem).toBe(
      'NOTIFY_SOCKET="relative/path" is not a socket path or @abstract name; not notifying systemd');
    expect(createNotifier({ NOTIFY_SOCKET: `/${"x".repeat(200)}` }).problem).toMatch(/^NOTIFY_SOCKET: socket address .* more than the 107 a unix socket allows/);
  });

  test("a socket that is gone: sends fail silently", () => {
    const dir = tempDir("pmtr-notify-");
    dirs.push(dir);
    const n = createNotifier({ NOTIFY_SOCKET: join(dir, "gone") });
    expect(n.enabled).toBe(true);
    n.ready();
    n.watchdog();
    n.close();
  });
});

describe("watchdog interval", () => {
  test("half of WATCHDOG_USEC, for this pid only", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 5)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "5" }, 5)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "6" }, 5)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "1000" }, 5)).toBe(1);
    for (const bad of [undefined, "", "0", "abc", "-5", "1e6"]) expect(watchdogIntervalMs({ WATCHDOG_USEC: bad }, 5)).toBeNull();
  });

  test("the monotonic clock systemd compares with", () => {
    const a = monotonicUsec();
    const b = monotonicUsec();
    expect(a).toBeGreaterThan(0n);
    expect(b).toBeGreaterThanOrEqual(a);
  });
});
