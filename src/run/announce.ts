// What follows a change of job states, once per burst: the job record for crash recovery
// (rewritten at most once per turn of the event loop, from the running pids alone), a UDP
// report, pending control requests, and sd_notify (READY once the initial start is complete,
// STATUS afterwards).

import type { Supervisor } from "../core/supervisor.ts";

export interface AnnounceTargets {
  readonly supervisor: Supervisor;
  readonly recorder: { write(jobs: ReadonlyArray<{ name: string; pid: number | null }>): void };
  readonly udp: { changed(): void };
  readonly server: { changed(): void };
  readonly notifier: { readonly enabled: boolean; ready(status?: string): void; status(text: string): void };
  /** True once shutdown has begun: the record is no longer written (it is removed at the end). */
  readonly stopping: () => boolean;
}

export function createAnnouncer(t: AnnounceTargets): () => void {
  let recordQueued = false;
  let readyTold = false;
  const writeRecord = () => {
    recordQueued = false;
    if (!t.stopping()) t.recorder.write(t.supervisor.processes());
  };
  const summary = () => {
    const n = t.supervisor.runningCount();
    return `${n} ${n === 1 ? "job" : "jobs"} running`;
  };
  return () => {
    if (!recordQueued && !t.stopping()) {
      recordQueued = true;
      setImmediate(writeRecord);
    }
    t.udp.changed();
    t.server.changed();
    if (!readyTold && t.supervisor.settled()) {
      readyTold = true;
      t.notifier.ready(summary());
    } else if (t.notifier.enabled) t.notifier.status(summary());
  };
}
