// /metrics on dist/pmtr (SPEC §14), measured:
//
//   scrape    1000 jobs: time of one GET /metrics (target <= 20 ms): the very first (it waits
//             for the /proc scan of group usage), one 5 s after the last (the scan is due: it
//             starts in the background), and back-to-back ones; the body size
//   memory    RSS of pmtr with 100 jobs, without `metrics on` and with it (after a scrape):
//             what loading the HTTP server costs
//   load      50 jobs, 10 scrapes a second for a minute from another process: pmtr's RSS every
//             10 s (flat?), and restart latency after SIGKILL before and during the scrapes
//
// `bun run test/bench/metrics.ts [scrape] [memory] [load]`; none named = all. Prints numbers;
// docs/PERFORMANCE.md records them.

import { createServer } from "node:net";
import { benchDir, removeDir, sleepJobs, startPmtr, type Daemon } from "./lib/daemons.ts";
import { isAlive, memoryMb, pollUntil } from "./lib/proc.ts";
import { figure, machine, median, summary } from "./lib/report.ts";

const sections = new Set(process.argv.slice(2));
const wanted = (name: string) => sections.size === 0 || sections.has(name);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function withPmtr<T>(jobCount: number, metrics: boolean, body: (d: Daemon, url: string) => Promise<T>): Promise<T> {
  const dir = benchDir("metrics");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const d = startPmtr(dir, sleepJobs(jobCount), [], metrics ? [`metrics on ${url}`] : []);
  try {
    d.jobs.waitRunning(jobCount, 60_000);
    if (metrics) {
      const deadline = performance.now() + 10_000;
      while (!(await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) {
        if (performance.now() > deadline) throw new Error(`no /healthz at ${url}`);
        await Bun.sleep(20);
      }
    }
    const result = await body(d, url);
    if (isAlive(d.pid)) await d.shutdown(60_000);
    return result;
  } catch (e) {
    console.log(`--- pmtr log (last 20 lines) ---\n${d.log().split("\n").slice(-21).join("\n")}`);
    throw e;
  } finally {
    await d.cleanup();
    removeDir(dir);
  }
}

async function timedScrape(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/metrics`);
  const body = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return { ms, bytes: body.length };
}

// ---- one scrape of 1000 jobs --------------------------------------------------------------

async function scrape(): Promise<void> {
  const JOBS = 1000;
  await withPmtr(JOBS, true, async (_d, url) => {
    await Bun.sleep(2000);
    const first = await timedScrape(url);
    const due: number[] = [];
    const warm: number[] = [];
    let bytes = first.bytes;
    for (let round = 0; round < 5; round++) {
      await Bun.sleep(5_100);
      const one = await timedScrape(url);
      due.push(one.ms);
      bytes = one.bytes;
      for (let i = 0; i < 20; i++) warm.push((await timedScrape(url)).ms);
    }
    figure(`GET /metrics, ${JOBS} jobs, the first (waits for the scan)`, `${first.ms.toFixed(1)} ms`);
    figure(`GET /metrics, ${JOBS} jobs, 5 s after the last (scan due)`, summary(due));
    figure(`GET /metrics, ${JOBS} jobs, back to back`, summary(warm));
    figure(`  body`, `${(bytes / 1024).toFixed(0)} KiB, ${bytes} bytes`);
  });
}

// ---- what metrics cost in memory ------------------------------------------------------------

async function memory(): Promise<void> {
  const JOBS = 100;
  for (const metrics of [false, true]) {
    await withPmtr(JOBS, metrics, async (d, url) => {
      await Bun.sleep(3000);
      if (metrics) await timedScrape(url);
      await Bun.sleep(1000);
      figure(`RSS, ${JOBS} jobs, ${metrics ? "metrics on (after a scrape)" : "no metrics"}`, `${memoryMb(d.pid).toFixed(1)} MB`);
    });
  }
}

// ---- a minute of 10 scrapes a second --------------------------------------------------------

const LOAD_JOBS = 50;
const LOAD_MS = 60_000;

/** SIGKILL `count` jobs that ran >= 10 s, one at a time; the time until each one's replacement runs. */
function restartTimes(d: Daemon, count: number, offset: number): number[] {
  const table = d.jobs.scan();
  const keys = [...table.keys()].sort().slice(offset, offset + count);
  const times: number[] = [];
  for (const key of keys) {
    const old = table.get(key)!;
    const t0 = performance.now();
    process.kill(old, "SIGKILL");
    pollUntil(`restart of job ${key}`, () => {
      const pid = d.jobs.scan().get(key);
      return pid !== undefined && pid !== old;
    }, 15_000, 0.1);
    times.push(performance.now() - t0);
  }
  return times;
}

async function load(): Promise<void> {
  await withPmtr(LOAD_JOBS, true, async (d, url) => {
    await Bun.sleep(11_000); // every job has run >= 10 s: restarted at once (SPEC §4)
    const before = restartTimes(d, 25, 0);
    // The scraper is another process, so this one's synchronous polling cannot slow it down.
    const scraper = Bun.spawn([process.execPath, "-e", `
      let ok = 0, failed = 0;
      setInterval(() => fetch(${JSON.stringify(`${url}/metrics`)}).then((r) => r.text().then(() => r.ok ? ok++ : failed++), () => failed++), 100);
      setTimeout(() => { console.log(JSON.stringify({ ok, failed })); process.exit(0); }, ${LOAD_MS});
    `], { stdout: "pipe", stderr: "inherit" });
    const rss: number[] = [memoryMb(d.pid)];
    const t0 = performance.now();
    let during: number[] = [];
    for (let tick = 1; tick <= LOAD_MS / 10_000; tick++) {
      await Bun.sleep(t0 + tick * 10_000 - performance.now());
      rss.push(memoryMb(d.pid));
      // Jobs 25..49 have run >= 10 s too (those killed before were replaced > 10 s ago by now).
      if (tick === 3) during = restartTimes(d, 25, 25);
    }
    const counts = JSON.parse(await new Response(scraper.stdout).text()) as { ok: number; failed: number };
    await scraper.exited;
    figure(`scrapes in ${LOAD_MS / 1000} s (10/s asked), ${LOAD_JOBS} jobs`, `${counts.ok} answered, ${counts.failed} failed`);
    figure("RSS every 10 s during the scrapes", rss.map((m) => m.toFixed(1)).join(", ") + " MB");
    figure("restart after SIGKILL, no scrapes", summary(before));
    figure("restart after SIGKILL, during 10 scrapes/s", summary(during));
    figure("  medians, during / before", `${(median(during) / median(before)).toFixed(2)}x`);
  });
}

console.log(`# metrics benchmark: ${machine()}`);
if (wanted("scrape")) await scrape();
if (wanted("memory")) await memory();
if (wanted("load")) await load();
