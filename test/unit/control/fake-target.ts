// A ControlTarget over a plain list of jobs, recording every call; `act` lets a test decide
// how the "supervisor" reacts to start/stop/restart.

import type { ControlTarget, JobStatus, ReloadOutcome } from "../../../src/control/target.ts";

/** A running job as the supervisor shows it; `fields` override. */
export function job(name: string, fields: Partial<JobStatus> = {}): JobStatus {
  return {
    name, state: "running", reason: "up 5 s", enabled: true, pid: 1000, sinceStartMs: 5_000, startedAt: null, restarts: 0,
    lastExit: null, lastStartError: null, nextRestartAt: null, exits: [], ready: true, statusText: null,
    cmd: `/bin/${name}`, argv: [`/bin/${name}`], user: null, dir: "/", out: "/dev/null", err: "/dev/null",
    source: { file: "/etc/pmtr.conf", line: 1 }, deadlineMs: 15_000, ...fields,
  };
}

export class FakeTarget implements ControlTarget {
  calls: string[] = [];
  reloadOutcome: ReloadOutcome = { applied: true };
  /** Called on start/stop/restart with the names; default: do nothing. */
  act: (op: "start" | "stop" | "restart", names: readonly string[]) => void = () => {};

  constructor(public jobs: JobStatus[]) {}

  snapshot(): readonly JobStatus[] {
    return this.jobs;
  }
  setEnabled(names: readonly string[], enabled: boolean): string[] {
    this.calls.push(`${enabled ? "enable" : "disable"} ${names.join(" ")}`);
    return this.unknown(names);
  }
  start(names: readonly string[]): string[] {
    return this.record("start", names);
  }
  stop(names: readonly string[]): string[] {
    return this.record("stop", names);
  }
  restart(names: readonly string[]): string[] {
    return this.record("restart", names);
  }
  async reload(): Promise<ReloadOutcome> {
    this.calls.push("reload");
    return this.reloadOutcome;
  }
  update(name: string, fields: Partial<JobStatus>): void {
    this.jobs = this.jobs.map((j) => (j.name === name ? { ...j, ...fields } : j));
  }

  private record(op: "start" | "stop" | "restart", names: readonly string[]): string[] {
    this.calls.push(`${op} ${names.join(" ")}`);
    this.act(op, names);
    return this.unknown(names);
  }
  private unknown(names: readonly string[]): string[] {
    return names.filter((n) => !this.jobs.some((j) => j.name === n));
  }
}
