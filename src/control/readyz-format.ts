// GET /readyz (SPEC §14): is every job that is meant to run running and ready? Pure, so the
// rule and its wording are unit-tested; the server only turns the answer into 200 or 503.

/** One job as /readyz judges it. */
export interface ReadyzJob {
  readonly name: string;
  readonly state: string;
  /** Running and, with a `ready` line, its condition met. */
  readonly ready: boolean;
  /** Why it is in its state, as `pmtr status` says it (may be empty). */
  readonly reason: string;
}

/** States of a job that is not meant to be running: switched off in the file or by the
 *  operator, or finished for good (`once`, exit 33). A container whose one-shot migration job
 *  is done is ready; one whose job gave up (`failed`) or is restarting is not. */
const AT_REST: ReadonlySet<string> = new Set(["disabled", "stopped", "done"]);

export interface Readiness {
  readonly ready: boolean;
  /** The body: a one-line summary when ready, else one line per job that is not. */
  readonly text: string;
}

export function readiness(jobs: readonly ReadyzJob[]): Readiness {
  const meant = jobs.filter((job) => !AT_REST.has(job.state));
  const notReady = meant.filter((job) => !(job.state === "running" && job.ready));
  if (notReady.length === 0) {
    const n = meant.length;
    return { ready: true, text: `ready: ${n} ${n === 1 ? "job" : "jobs"} running\n` };
  }
  const lines = notReady.map((job) => `${job.name}: ${job.state}${job.reason === "" ? "" : ` (${oneLine(job.reason)})`}`);
  return { ready: false, text: `not ready: ${notReady.length} of ${meant.length} ${meant.length === 1 ? "job" : "jobs"}\n${lines.join("\n")}\n` };
}

/** A reason is one sentence, but it may quote a file or an OS error: keep the body line-based. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
