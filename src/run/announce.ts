// What follows a change of job states, once per burst: a UDP report, pending control requests,
// and sd_notify (READY once the initial start is complete, STATUS afterwards). The job record
// for crash recovery is not here: it follows each start and exit (Ports.leaderStarted/
// leaderExited, os/self/generation.ts), so a burst does not rewrite it from every job.

import type { Supervisor } from "../core/supervisor.ts";

export interface AnnounceTargets {
  readonly supervisor: Supervisor;
  readonly udp: { changed(): void };
  readonly server: { changed(): void };
  readonly notifier: { readonly enabled: boolean; ready(status?: string): void; status(text: string): void };
}

export function createAnnouncer(t: AnnounceTargets): () => void {
  let readyTold = false;
  const summary = () => {
    const n = t.supervisor.runningCount();
    return `${n} ${n === 1 ? "job" : "jobs"} running`;
  };
  return () => {
    t.udp.changed();
    t.server.changed();
    if (!readyTold && t.supervisor.settled()) {
      readyTold = true;
      t.notifier.ready(summary());
    } else if (t.notifier.enabled) t.notifier.status(summary());
  };
}
