// pmtr's CPU while a job writes flat out into a file beside pmtr.conf (issue 12, fault 4).
// The watcher asks the kernel only for what concerns pmtr.conf (its own inode: writes closed,
// attributes; its directory: entries created, renamed, deleted), so the neighbour's writes
// should cost pmtr nothing; a watcher on the whole directory woke pmtr on every write.
//
//   idle        pmtr's CPU over WINDOW_MS with one sleeping job (the baseline)
//   neighbour   the same, while job `writer` writes 64-byte lines flat out to its `out` file
//               in pmtr.conf's directory (truncating it every 10 000 lines, so the disk does
//               not fill), and how many lines it wrote per second
//
// `bun run test/bench/watch-neighbour.ts`; PMTR_BENCH_BIN=/path/to/pmtr compares a binary.
// Prints numbers; docs/PERFORMANCE.md records them.

import { renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { benchDir, pmtrConfPath, removeDir, sleepJobs, startPmtr, type BenchJob } from "./lib/daemons.ts";
import { cpuTimeMs, pollUntil } from "./lib/proc.ts";
import { figure, machine } from "./lib/report.ts";

const WINDOW_MS = 5000;
const PERL = "/usr/bin/perl";

/** CPU percent `pid` used over WINDOW_MS. */
async function cpuPercent(pid: number): Promise<number> {
  const t0 = performance.now();
  const c0 = cpuTimeMs(pid);
  await Bun.sleep(WINDOW_MS);
  return ((cpuTimeMs(pid) - c0) / (performance.now() - t0)) * 100;
}

async function main(): Promise<void> {
  console.log(`watch-neighbour: ${machine()}`);
  const dir = benchDir("watch-neighbour");
  const etc = dirname(pmtrConfPath(dir));
  const writer = join(dir, "writer.pl");
  const counter = join(dir, "lines");
  // Counts its lines in a file once a second, so the rate is known without a pipe.
  writeFileSync(writer, [
    "$n = 0; $t = time;",
    'while (1) { for (1..10000) { syswrite STDOUT, ("x" x 63) . "\\n"; } $n += 10000; truncate STDOUT, 0;',
    `  if (time != $t) { $t = time; open C, ">", "${counter}"; print C "$n\\n"; close C; } }`,
  ].join("\n"));
  const jobs: BenchJob[] = sleepJobs(1);
  const d = startPmtr(dir, jobs);
  try {
    d.jobs.waitRunning(1, 10_000);
    await Bun.sleep(500);
    figure("pmtr CPU, idle (1 sleeping job)", `${(await cpuPercent(d.pid)).toFixed(1)} %`);

    // Add the writer by a save, as an operator would.
    const conf = pmtrConfPath(dir);
    const text = `${await Bun.file(conf).text()}\njob {\n  name writer\n  cmd ${PERL} ${writer}\n  out ${join(etc, "writer.log")}\n}\n`;
    writeFileSync(`${conf}.new`, text);
    renameSync(`${conf}.new`, conf);
    pollUntil("the writer to write", () => statSync(join(etc, "writer.log"), { throwIfNoEntry: false })?.size, 10_000);
    await Bun.sleep(1500);
    const lines0 = Number(await Bun.file(counter).text());
    const t0 = performance.now();
    const cpu = await cpuPercent(d.pid);
    const lines1 = Number(await Bun.file(counter).text());
    const rate = ((lines1 - lines0) / (performance.now() - t0)) * 1000;
    figure("pmtr CPU, a job writing flat out beside pmtr.conf", `${cpu.toFixed(1)} % (${(rate / 1e6).toFixed(2)} M lines/s written)`);
    await d.shutdown();
  } catch (e) {
    console.log(`--- pmtr log (last 20 lines) ---\n${d.log().split("\n").slice(-21).join("\n")}`);
    throw e;
  } finally {
    await d.cleanup();
    removeDir(dir);
  }
}

await main();
