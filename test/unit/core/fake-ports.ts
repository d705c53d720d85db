// A fake OS for the supervision core: a process table, a manual clock and a log. Starts
// resolve when the test says so (or at once with autoStart), exits happen when the test
// says so, and time moves only through advance(), which rings the alarm like a timer would.

import { makeJob } from "../../../src/config/defaults.ts";
import type { Config, JobSpec } from "../../../src/config/model.ts";
import type { Digest, ExitStatus, LogLevel, Ports, StartOutcome } from "../../../src/core/ports.ts";
import { Supervisor } from "../../../src/core/supervisor.ts";

export interface FakeProc {
  pid: number;
  job: string;
  /** Signals sent to its group, in order. */
  signals: string[];
  /** Members of the group other than the leader still alive after the leader exits. */
  strays: number;
  alive: boolean;
}

export class FakePorts implements Ports {
  clock = 1_000_000;
  alarm: number | null = null;
  lines: string[] = [];
  procs: FakeProc[] = [];
  failures = new Map<string, { step: string; error: string }>();
  digests = new Map<string, Digest>();
  pending: Array<{ job: JobSpec; resolve: (o: StartOutcome) => void }> = [];
  autoStart = true;
  changes = 0;
  /** pid -> job, as the job record follows them (leaderStarted / leaderExited). */
  leaders = new Map<number, string>();
  sup!: Supervisor;
  private nextPid = 100;

  now(): number {
    return this.clock;
  }
  wallClock(): number {
    return 1_700_000_000_000 + this.clock;
  }
  start(job: JobSpec): Promise<StartOutcome> {
    return new Promise((resolve) => {
      if (this.autoStart) resolve(this.outcome(job));
      else this.pending.push({ job, resolve });
    });
  }
  signalGroup(pgid: number, signal: string): void {
    const proc = this.procs.find((p) => p.pid === pgid);
    if (proc) proc.signals.push(signal);
  }
  groupAlive(pgid: number): boolean {
    const proc = this.procs.find((p) => p.pid === pgid);
    return !!proc && (proc.alive || proc.strays > 0);
  }
  digest(path: string): Digest {
    return this.digests.get(path) ?? null;
  }
  setAlarm(atMs: number | null): void {
    this.alarm = atMs;
  }
  log(level: LogLevel, message: string): void {
    if (level !== "debug") this.lines.push(message);
  }
  changed(): void {
    this.changes++;
  }
  leaderStarted(name: string, pid: number): void {
    if (this.leaders.has(pid)) throw new Error(`leader ${pid} reported started twice`);
    this.leaders.set(pid, name);
  }
  leaderExited(pid: number): void {
    if (!this.leaders.delete(pid)) throw new Error(`leader ${pid} reported exited but was not started`);
  }
  /** Live leaders, as "job:pid", sorted: what the job record should hold. */
  liveLeaders(): string[] {
    return this.procs.filter((p) => p.alive).map((p) => `${p.job}:${p.pid}`).sort();
  }
  recordedLeaders(): string[] {
    return [...this.leaders].map(([pid, job]) => `${job}:${pid}`).sort();
  }

  /** Resolve every start in flight (autoStart false); `startedAtMs`: when the processes were
   *  created, as a real spawner reports it (default: not reported). */
  resolveStarts(startedAtMs?: number): void {
    for (const { job, resolve } of this.pending.splice(0)) resolve(this.outcome(job, startedAtMs));
  }

  /** The live leader of `job`, or undefined. */
  running(job: string): FakeProc | undefined {
    return this.procs.find((p) => p.job === job && p.alive);
  }
  startsOf(job: string): number {
    return this.procs.filter((p) => p.job === job).length;
  }

  /** The leader of `job` exits. */
  exit(job: string, status: ExitStatus = { kind: "exited", code: 0 }): void {
    const proc = this.running(job);
    if (!proc) throw new Error(`job ${job} is not running`);
    proc.alive = false;
    this.sup.exited(proc.pid, status);
  }

  /** Move the clock, ringing the alarm whenever it falls due, as a timer would. */
  async advance(ms: number): Promise<void> {
    const until = this.clock + ms;
    for (;;) {
      await settle();
      if (this.alarm === null || this.alarm > until) break;
      this.clock = Math.max(this.clock, this.alarm);
      this.alarm = null;
      this.sup.tick();
    }
    this.clock = until;
    await settle();
  }

  private outcome(job: JobSpec, startedAtMs?: number): StartOutcome {
    const failure = this.failures.get(job.name);
    if (failure) return { ok: false, ...failure };
    const pid = this.nextPid++;
    this.procs.push({ pid, job: job.name, signals: [], strays: 0, alive: true });
    return startedAtMs === undefined ? { ok: true, pid } : { ok: true, pid, startedAtMs };
  }
}

/** Lets resolved start promises deliver. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export function job(name: string, extra: Partial<JobSpec> = {}): JobSpec {
  return makeJob({ name, argv: [`/bin/${name}`], ...extra });
}

export function config(...jobs: JobSpec[]): Config {
  return { jobs, reportTo: [], listenOn: null, metricsOn: null, includes: [], files: [] };
}

export function setup(): { ports: FakePorts; sup: Supervisor } {
  const ports = new FakePorts();
  const sup = new Supervisor(ports);
  ports.sup = sup;
  return { ports, sup };
}
