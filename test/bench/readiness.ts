// SPEC §12 figures (issue 13): how soon a dependant starts once what it waits for is ready —
// polled (`ready tcp`) and pushed (`ready notify`) — what 100 jobs with health checks cost when
// idle, and how long a shutdown takes along a chain of dependencies. Prints numbers; asserts
// nothing. Times come from the jobs' own event files (epoch ms from `date`).

import { realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { openDgram } from "../../src/os/unix-dgram.ts";
import { benchDir, PMTR, removeDir, sleepJobs, startPmtr } from "./lib/daemons.ts";
import { argvOf, childrenOf, cpuTimeMs, pollUntil, readOr } from "./lib/proc.ts";
import { figure, machine, summary } from "./lib/report.ts";

const FIX = resolve(import.meta.dir, "../fixtures/readiness");
const BUN = realpathSync(resolve(import.meta.dir, "../../node_modules/.bin/bun"));
const RUNS = Number(process.env.READY_BENCH_RUNS ?? 10);

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

function eventTime(events: string, key: string): number | null {
  const line = readOr(events).split("\n").find((l) => l.startsWith(`${key} `));
  return line === undefined ? null : Number(line.split(" ")[2]);
}

/** pmtr -F on `conf` (job blocks as text) in `dir`; stop() is SIGTERM and the time until
 *  pmtr has exited (it exits only once every job is gone). */
function runPmtr(dir: string, conf: string) {
  mkdirSync(join(dir, "etc"), { recursive: true });
  writeFileSync(join(dir, "etc", "pmtr.conf"), conf, { mode: 0o644 });
  const proc = Bun.spawn([PMTR, "-F", "-c", join(dir, "etc", "pmtr.conf"), "-s", join(dir, "pmtr.sock")], { stdio: ["ignore", "ignore", "ignore"] });
  return {
    pid: proc.pid,
    async stop(): Promise<number> {
      const t0 = performance.now();
      proc.kill("SIGTERM");
      await proc.exited;
      return performance.now() - t0;
    },
  };
}

/** One pmtr run of `db` + `web` (after db): web's start minus db's ready moment. */
async function latency(dbLines: (events: string) => string[], readyKey: string): Promise<number> {
  const dir = benchDir("ready");
  const events = join(dir, "events");
  const pmtr = runPmtr(dir, [
    "job {", "name web", `cmd ${FIX}/job.sh web ${events} 1 run`, "after db", "}",
    "job {", "name db", ...dbLines(events), "}", "",
  ].join("\n"));
  try {
    const webAt = pollUntil("web started", () => eventTime(events, "web start"), 30_000, 2);
    const readyAt = eventTime(events, readyKey)!;
    return webAt - readyAt;
  } finally {
    await pmtr.stop();
    removeDir(dir);
  }
}

console.log(`# readiness (SPEC §12) — ${machine()}`);

const polled: number[] = [];
for (let i = 0; i < RUNS; i++) {
  polled.push(await latency((events) => {
    const port = freePort();
    return [`cmd ${BUN} ${FIX}/server.ts db ${port} 300 ${events} /nonexistent`, `ready tcp 127.0.0.1:${port}`];
  }, "db listening"));
}
figure("ready tcp: dependency listening -> dependant started", summary(polled));

const pushed: number[] = [];
for (let i = 0; i < RUNS; i++) {
  pushed.push(await latency((events) => [`cmd ${FIX}/notify-at.sh db ${events} 0.2`, "ready notify"], "db notify"));
}
figure("ready notify: READY=1 sent -> dependant started (shells)", summary(pushed));

// The same, seen from outside with nothing but pmtr in the path: this process sends READY=1
// on db's notify socket itself (as root it may) and polls /proc for the dependant's process.
const direct: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = benchDir("notify");
  const sock = join(dir, "pmtr.sock");
  const pmtr = runPmtr(dir, ["job {", "name db", "cmd /bin/sleep 1000001", "ready notify", "}",
    "job {", "name web", "cmd /bin/sleep 1000002", "after db", "}", ""].join("\n"));
  try {
    const notifySock = `${sock}.notify/1.sock`;
    pollUntil("db's notify socket", () => existsSync(notifySock) || null, 30_000, 1);
    pollUntil("db running", () => childrenOf(pmtr.pid).some((p) => argvOf(p)[1] === "1000001") || null, 30_000, 1);
    const opened = openDgram(notifySock);
    if (!opened.ok) throw new Error(opened.message);
    const t0 = performance.now();
    opened.sender.send(new TextEncoder().encode("READY=1"));
    pollUntil("web started", () => childrenOf(pmtr.pid).some((p) => argvOf(p)[1] === "1000002") || null, 30_000, 0.1);
    direct.push(performance.now() - t0);
    opened.sender.close();
  } finally {
    await pmtr.stop();
    removeDir(dir);
  }
}
figure("ready notify: READY=1 sent -> dependant exec'd (pmtr alone)", summary(direct));

{
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const dir = benchDir("checks");
  const pmtr = startPmtr(dir, sleepJobs(100, 1_000_000, [`check tcp 127.0.0.1:${listener.port} every 10s timeout 2s`]));
  try {
    pmtr.jobs.waitRunning(100, 30_000);
    await Bun.sleep(2000); // past start-up work
    const windowMs = Number(process.env.READY_BENCH_IDLE_MS ?? 30_000);
    const cpu0 = cpuTimeMs(pmtr.pid);
    const t0 = performance.now();
    await Bun.sleep(windowMs);
    const used = cpuTimeMs(pmtr.pid) - cpu0;
    figure(`idle, 100 jobs with check tcp every 10s (${windowMs / 1000} s)`, `${((used / (performance.now() - t0)) * 100).toFixed(2)} % of a core`);
  } finally {
    await pmtr.shutdown();
    removeDir(dir);
    listener.stop(true);
  }
}

{
  // c1 <- c2 <- ... <- c5 (each after the one before): each stops in ~0.2 s once its
  // dependants are gone, so a shutdown walks the chain one link at a time.
  const dir = benchDir("chain");
  const events = join(dir, "events");
  const blocks = Array.from({ length: 5 }, (_, i) =>
    ["job {", `name c${i + 1}`, `cmd ${FIX}/slow-stop.sh c${i + 1} ${events} 0.2`, ...(i === 0 ? [] : [`after c${i} started`]), "}"].join("\n"));
  const pmtr = runPmtr(dir, blocks.join("\n") + "\n");
  // slow-stop.sh writes nothing until it is stopped: give the five starts a moment.
  await Bun.sleep(1500);
  const took = await pmtr.stop();
  figure("shutdown of a 5-job after chain, each stopping in 0.2 s", `${took.toFixed(0)} ms`);
  removeDir(dir);
}
