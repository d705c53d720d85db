// SPEC §12 `after NAME [ready|started|done]` across the whole configuration: every name must
// be another job, `done` needs a job that can be done, and the jobs must not wait for each
// other in a circle (they would all wait forever). The default condition is resolved here:
// `ready` when NAME has a `ready` line, else `started`.

import type { DraftAfter, FinishedJob } from "./job-draft.ts";
import type { AfterSpec } from "./model.ts";
import { instanceNames } from "./instances.ts";
import { cut, show } from "./show.ts";

/** Where an error goes and how a place is written in a message. */
export interface Places {
  add(job: FinishedJob, line: number, message: string): void;
  /** "line 12" in the same file as `from`, else "FILE:12". */
  place(from: FinishedJob, to: FinishedJob, line: number): string;
}

interface Edge {
  readonly from: FinishedJob;
  readonly to: FinishedJob;
  readonly after: DraftAfter;
}

/** The resolved `after` lists, by job (base definition, before instances are expanded). */
export function resolveAfter(jobs: readonly FinishedJob[], declared: ReadonlySet<string>, places: Places): Map<FinishedJob, AfterSpec[]> {
  const byName = new Map<string, { job: FinishedJob; index: number | null }>();
  // A name used twice is an error at its second use ("first used on line N"): the first
  // definition is the one `after` means, so that the rest of the file is still checked (every
  // error at once, SPEC §6) rather than edges pointing at the duplicate.
  const claim = (name: string, entry: { job: FinishedJob; index: number | null }) => {
    if (!byName.has(name)) byName.set(name, entry);
  };
  for (const job of jobs) {
    claim(job.spec.name, { job, index: null });
    if (job.instances !== null) instanceNames(job.spec.name, job.instances).forEach((n, i) => claim(n, { job, index: i + 1 }));
  }
  const resolved = new Map<FinishedJob, AfterSpec[]>();
  const edges = new Map<FinishedJob, Edge[]>();
  for (const job of jobs) {
    if (job.after.length === 0) continue;
    const specs: AfterSpec[] = [];
    const out: Edge[] = [];
    for (const after of job.after) {
      const target = byName.get(after.name);
      if (!target) {
        // A job that is declared but invalid has its own error already.
        if (!declared.has(after.name)) places.add(job, after.line, `after ${show(after.name)}: there is no job named ${show(after.name)}`);
        continue;
      }
      if (target.job === job) {
        places.add(job, after.line, `after ${show(after.name)}: a job cannot start after itself`);
        continue;
      }
      const spec = target.job.spec;
      const condition = after.condition ?? (spec.ready !== null ? "ready" : "started");
      if (condition === "done" && spec.policy.restart === "always") {
        places.add(job, after.line, `after ${after.name} done: ${spec.name} is restarted whenever it exits, so it is never done (add once or restart on-failure to ${spec.name}, or write after ${after.name} started)`);
        continue;
      }
      const names = target.index === null && target.job.instances !== null ? instanceNames(spec.name, target.job.instances) : [after.name];
      specs.push(...names.map((name) => ({ name, condition })));
      out.push({ from: job, to: target.job, after });
    }
    resolved.set(job, specs);
    edges.set(job, out);
  }
  reportCycles(jobs, edges, places);
  return resolved;
}

/** Depth-first search, iterative (a 10 MiB file can chain 100 000 jobs: no recursion); each
 *  back edge closes one cycle, reported at the line of the cycle's first edge. */
function reportCycles(jobs: readonly FinishedJob[], edges: ReadonlyMap<FinishedJob, Edge[]>, places: Places): void {
  const state = new Map<FinishedJob, "open" | "done">();
  for (const root of jobs) {
    if (state.has(root) || !edges.has(root)) continue;
    // path[i] is the edge that led to stack[i + 1]; next[i] the next edge of stack[i] to try.
    const stack: FinishedJob[] = [root];
    const next: number[] = [0];
    const path: Edge[] = [];
    state.set(root, "open");
    while (stack.length > 0) {
      const top = stack.length - 1;
      const job = stack[top] as FinishedJob;
      const edge = edges.get(job)?.[next[top] ?? 0];
      if (!edge) {
        state.set(job, "done");
        stack.pop();
        next.pop();
        path.pop();
        continue;
      }
      next[top] = (next[top] ?? 0) + 1;
      const seen = state.get(edge.to);
      if (seen === "open") reportCycle([...path.slice(stack.indexOf(edge.to)), edge], places);
      else if (seen === undefined) {
        state.set(edge.to, "open");
        stack.push(edge.to);
        next.push(0);
        path.push(edge);
      }
    }
  }
}

function reportCycle(cycle: readonly Edge[], places: Places): void {
  const [first] = cycle;
  if (!first) return;
  const steps = cycle.slice(0, MAX_STEPS_SHOWN).map((e) => `${cut(e.from.spec.name)} after ${cut(e.to.spec.name)} (${places.place(first.from, e.from, e.after.line)})`);
  const more = cycle.length > MAX_STEPS_SHOWN ? `, ... (${cycle.length} jobs in all)` : "";
  places.add(first.from, first.after.line, `after ${cut(first.after.name)}: the jobs wait for each other in a cycle: ${steps.join(", ")}${more}`);
}

/** A cycle of 1000 jobs is one line of the log, not 1000 steps. */
const MAX_STEPS_SHOWN = 10;
