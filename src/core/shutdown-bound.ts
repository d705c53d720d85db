// How long a shutdown may take at most (SPEC §12): jobs stop concurrently except along `after`
// chains, where a job is stopped only once every job naming it is gone. So the bound is the
// longest chain of stop timeouts. pmtr tells systemd (EXTEND_TIMEOUT_USEC) when this exceeds
// what a unit would allow, so a long chain is not killed mid-shutdown.

import type { JobSpec } from "../config/model.ts";

/** A moment for each link: the stop signal, the exit being seen, the next link's signal. */
const LINK_MARGIN_MS = 1000;

/** Milliseconds a shutdown of `jobs` can take in the worst case. The configuration has no
 *  `after` cycles (the parser refuses them); a name that is not among `jobs` is ignored. */
export function shutdownBoundMs(jobs: readonly JobSpec[]): number {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  // A job stops after its dependants: its finish time is its own timeout after the latest of
  // theirs. dependants(x) = jobs whose `after` names x.
  const dependants = new Map<string, JobSpec[]>();
  for (const job of jobs) {
    for (const a of job.after) {
      if (!byName.has(a.name)) continue;
      const list = dependants.get(a.name) ?? [];
      list.push(job);
      dependants.set(a.name, list);
    }
  }
  const finish = new Map<string, number>();
  const visiting = new Set<string>();
  const finishOf = (job: JobSpec): number => {
    const known = finish.get(job.name);
    if (known !== undefined) return known;
    if (visiting.has(job.name)) return 0; // a cycle cannot pass the parser; never loop on one
    visiting.add(job.name);
    let start = 0;
    for (const d of dependants.get(job.name) ?? []) start = Math.max(start, finishOf(d));
    visiting.delete(job.name);
    const at = start + job.policy.stopTimeoutMs + LINK_MARGIN_MS;
    finish.set(job.name, at);
    return at;
  };
  let longest = 0;
  for (const job of jobs) longest = Math.max(longest, finishOf(job));
  return longest;
}
