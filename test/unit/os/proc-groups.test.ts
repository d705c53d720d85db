import { describe, expect, test } from "bun:test";
import { GroupUsageCache, pageSize, parseStat, scanGroups, type GroupUsage } from "../../../src/os/proc-groups.ts";
import { waitFor } from "../../helpers.ts";

describe("parseStat", () => {
  test("reads group, CPU ticks and RSS pages after a command name with spaces and parentheses", () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal start vsize rss
    const text = "4242 (a (weird) name) S 1 4240 4240 0 -1 4194560 10 0 0 0 150 25 7 3 20 0 1 0 12345 1000000 321 18446744073709551615\n";
    expect(parseStat(text)).toEqual({ pgrp: 4240, cpuTicks: 175, rssPages: 321 });
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
  function fake() {
    let nowMs = 0;
    const scans: number[][] = [];
    let release: () => void = () => {};
    let gate: Promise<void> | null = null;
    const cache = new GroupUsageCache({
      maxAgeMs: 5000,
      now: () => nowMs,
      scan: async (pgids) => {
        scans.push([...pgids]);
        if (gate) await gate;
        return new Map([...pgids].map((p) => [p, one]));
      },
    });
    return {
      cache, scans,
      advance: (ms: number) => (nowMs += ms),
      hold: () => (gate = new Promise<void>((r) => (release = r))),
      release: () => {
        gate = null;
        release();
      },
    };
  }

  test("one scan serves every request until it is maxAgeMs old", async () => {
    const f = fake();
    await f.cache.usage([10, 20]);
    f.advance(4999);
    await f.cache.usage([10, 20]);
    await f.cache.usage([20]);
    expect(f.scans.length).toBe(1);
    f.advance(1);
    await f.cache.usage([10, 20]);
    expect(f.scans.length).toBe(2);
  });

  test("a group the last scan did not look for triggers a new scan", async () => {
    const f = fake();
    await f.cache.usage([10]);
    const got = await f.cache.usage([10, 30]);
    expect(f.scans).toEqual([[10], [10, 30]]);
    expect(got.get(30)).toEqual(one);
  });

  test("requests during a scan share it", async () => {
    const f = fake();
    f.hold();
    const a = f.cache.usage([10]);
    const b = f.cache.usage([10]);
    f.release();
    expect(await a).toBe(await b);
    expect(f.scans.length).toBe(1);
  });
});
