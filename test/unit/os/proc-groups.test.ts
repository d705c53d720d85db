import { describe, expect, test } from "bun:test";
import { GroupUsageCache, pageSize, parseStat, scanGroups, type GroupUsage } from "../../../src/os/proc/proc-groups.ts";
import { waitFor } from "../../helpers.ts";

describe("parseStat", () => {
  test("reads group, CPU ticks (own and waited-for children's) and RSS pages after a command name with spaces and parentheses", () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal start vsize rss
    const text = "4242 (a (weird) name) S 1 4240 4240 0 -1 4194560 10 0 0 0 150 25 7 3 20 0 1 0 12345 1000000 321 18446744073709551615\n";
    expect(parseStat(text)).toEqual({ pgrp: 4240, cpuTicks: 185, rssPages: 321 });
  });
  test("null for text that is not a stat line", () => {
    expect(parseStat("garbage")).toBeNull();
  });
});

test("the page size comes from the kernel (4 KiB on x86-64)", () => {
  const size = pageSize();
  expect([4096, 16384, 65536]).toContain(size);
  if (process.arch === "x64") expect(size).toBe(4096);
});

test("scanGroups sums every process of a real group and leaves other groups out", async () => {
  // setsid makes the shell lead its own group; it and its two sleeps are the group.
  const proc = Bun.spawn(["setsid", "sh", "-c", "sleep 60 & sleep 60 & wait"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  try {
    const pgid = proc.pid;
    const usage = await waitFor("the group to have 3 processes", async () => {
      const u = (await scanGroups([pgid])).get(pgid);
      return u && u.processes === 3 ? u : null;
    }, 10_000);
    expect(usage.rssBytes).toBeGreaterThan(100 * 1024);
    expect(usage.rssBytes % pageSize()).toBe(0);
    expect(usage.cpuSeconds).toBeGreaterThanOrEqual(0);
    // Our own group is not asked for, so it is not reported.
    const own = await scanGroups([pgid]);
    expect([...own.keys()]).toEqual([pgid]);
  } finally {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {}
    await proc.exited;
  }
});

test("a group with no live process is absent", async () => {
  expect((await scanGroups([2 ** 22 + 7])).size).toBe(0);
});

describe("GroupUsageCache", () => {
  const one: GroupUsage = { rssBytes: 4096, cpuSeconds: 1, processes: 1 };
  function fake(refreshAhead = true) {
    let nowMs = 0;
    const scans: number[][] = [];
    const timers: Array<{ at: number; action: () => void; live: boolean }> = [];
    let gate: { promise: Promise<void>; open: () => void } | null = null;
    const cache = new GroupUsageCache({
      maxAgeMs: 5000,
      keepWarmMs: 60_000,
      refreshAhead,
      now: () => nowMs,
      scan: async (pgids) => {
        scans.push([...pgids]);
        if (gate) await gate.promise;
        return new Map([...pgids].map((p) => [p, one]));
      },
      setTimer: (action, ms) => {
        const t = { at: nowMs + ms, action, live: true };
        timers.push(t);
        return () => (t.live = false);
      },
    });
    const flush = () => new Promise<void>((r) => setImmediate(r));
    return {
      cache, scans, flush,
      liveTimers: () => timers.filter((t) => t.live).length,
      async advance(ms: number) {
        nowMs += ms;
        for (const t of timers) if (t.live && t.at <= nowMs) {
          t.live = false;
          t.action();
        }
        await flush();
      },
      hold() {
        let open = () => {};
        gate = { promise: new Promise<void>((r) => (open = r)), open: () => open() };
      },
      release() {
        const g = gate;
        gate = null;
        g?.open();
      },
    };
  }

  test("without refreshAhead (status): a stale scan, or one that did not look for a group asked about, is waited for; no timers", async () => {
    const f = fake(false);
    await f.cache.usage([10, 20]);
    await f.advance(4999);
    await f.cache.usage([20]);
    expect(f.scans.length).toBe(1);
    const got = await f.cache.usage([10, 30]);
    expect(f.scans).toEqual([[10, 20], [10, 30]]);
    expect(got.get(30)).toEqual(one);
    await f.advance(5000);
    expect(f.scans.length).toBe(2);
    await f.cache.usage([10, 30]);
    expect(f.scans.length).toBe(3);
    expect(f.liveTimers()).toBe(0);
  });

  test("refreshAhead: only the first request waits for a scan; later ones are answered from the last", async () => {
    const f = fake();
    const first = await f.cache.usage([10, 20]);
    expect(first.get(10)).toEqual(one);
    expect(f.scans).toEqual([[10, 20]]);
    f.hold();
    // A scan in the background does not hold a request up: it gets the last table.
    await f.advance(5000);
    expect(f.scans.length).toBe(2);
    expect(await f.cache.usage([10, 20])).toBe(first);
    f.release();
    await f.flush();
    expect(await f.cache.usage([10, 20])).not.toBe(first);
  });

  test("while requests keep coming, scans run every maxAgeMs in the background, with the groups last asked for", async () => {
    const f = fake();
    await f.cache.usage([10]);
    await f.advance(4999);
    expect(f.scans.length).toBe(1);
    await f.cache.usage([10, 30]);
    await f.advance(1);
    expect(f.scans).toEqual([[10], [10, 30]]);
    const got = await f.cache.usage([10, 30]);
    expect(got.get(30)).toEqual(one);
  });

  test("scans stop keepWarmMs after the last request, and start again with the next", async () => {
    const f = fake();
    await f.cache.usage([10]);
    for (let i = 0; i < 20; i++) await f.advance(5000);
    const scans = f.scans.length;
    expect(scans).toBeLessThanOrEqual(14); // 60 s of 5 s scans, then none
    await f.advance(60_000);
    expect(f.scans.length).toBe(scans);
    expect(f.liveTimers()).toBe(0);
    // After such a pause the table is too old to serve: this request waits for a new scan.
    f.hold();
    let answered = false;
    const next = f.cache.usage([10]).then(() => (answered = true));
    await f.flush();
    expect(answered).toBe(false);
    f.release();
    await next;
    expect(f.scans.length).toBe(scans + 1);
  });

  test("close cancels the next scan", async () => {
    const f = fake();
    await f.cache.usage([10]);
    expect(f.liveTimers()).toBe(1);
    f.cache.close();
    await f.advance(10_000);
    expect(f.scans.length).toBe(1);
  });
});
