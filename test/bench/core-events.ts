// The supervision core alone, on a fake OS whose starts resolve at once: the work pmtr's core
// does per event, without spawning, the kernel or the observer. Issue 10: the work on the
// exit -> restart path must not grow with the number of jobs.
//
//   bun run test/bench/core-events.ts [SUPERVISOR_MODULE]
//
// For each job count, every job runs 20 s (so an exit restarts at once), then one exit after
// another is delivered, each followed by its restart; reported: microseconds per exit ->
// restart (median of 5 rounds of 2000). SUPERVISOR_MODULE lets the same loop drive another
// version of src/core/supervisor.ts (e.g. one extracted from git history) for a before/after.

import { makeJob } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/model.ts";

const modulePath = process.argv[2] ?? "../../src/core/supervisor.ts";
const { Supervisor } = (await import(modulePath)) as { Supervisor: new (ports: unknown) => SupervisorLike };

interface SupervisorLike {
  apply(config: Config): void;
  snapshot(): unknown[];
  exited(pid: number, status: { kind: "exited"; code: number }): void;
}

const EXITS = 2_000;
/** Also measured: one snapshot (what `pmtr status` and each UDP report read), in ms. */
const snapshotMs = new Map<number, number>();
const ROUNDS = 5;

async function measure(jobs: number): Promise<number> {
  let clock = 0;
  let nextPid = 100;
  const jobOf = new Map<string, number>(); // name -> current pid
  const ports = {
    now: () => clock,
    wallClock: () => 1_700_000_000_000 + clock,
    start: (job: { name: string }) => {
      const pid = nextPid++;
      jobOf.set(job.name, pid);
      return Promise.resolve({ ok: true, pid });
    },
    signalGroup: () => {},
    groupAlive: () => false,
    digest: () => null,
    setAlarm: () => {},
    log: () => {},
    changed: () => {},
  };
  const sup = new Supervisor(ports);
  const specs = Array.from({ length: jobs }, (_, i) => makeJob({ name: `j${i}`, argv: ["/bin/sleep", "1000"] }));
  sup.apply({ jobs: specs, reportTo: [], listenOn: null, metricsOn: null, includes: [], files: [] });
  for (let i = 0; jobOf.size < jobs; i++) {
    if (i > 100 * jobs) throw new Error(`only ${jobOf.size} of ${jobs} jobs started`);
    await Promise.resolve();
  }
  for (let i = 0; i < 50; i++) await Promise.resolve(); // the last starts resolve
  const perRound: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    clock += 20_000;
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < EXITS; i++) {
      const name = `j${i % jobs}`;
      const before = nextPid;
      sup.exited(jobOf.get(name)!, { kind: "exited", code: 0 });
      // The restart is asked for, and its start resolves.
      for (let turn = 0; nextPid === before && turn < 10; turn++) await Promise.resolve();
      for (let turn = 0; turn < 3; turn++) await Promise.resolve();
      clock += 1;
      if (i % jobs === jobs - 1) clock += 20_000;
    }
    perRound.push((Bun.nanoseconds() - t0) / EXITS / 1000);
  }
  if (nextPid - 100 < jobs + EXITS * ROUNDS) throw new Error(`only ${nextPid - 100 - jobs} restarts happened`);
  perRound.sort((a, b) => a - b);
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < 20; i++) sup.snapshot();
  snapshotMs.set(jobs, (Bun.nanoseconds() - t0) / 20 / 1e6);
  return perRound[Math.floor(ROUNDS / 2)]!;
}

console.log(`core: ${modulePath}`);
for (const jobs of [100, 1000, 5000]) {
  const us = await measure(jobs);
  console.log(`${String(jobs).padStart(5)} jobs: exit -> restart ${us.toFixed(1)} µs per event; snapshot ${snapshotMs.get(jobs)!.toFixed(2)} ms`);
}
