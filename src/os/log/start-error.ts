// SPEC §13: a start that fails also leaves its reason in the job's `err` file, when pmtr can
// open it as the job's user, so `pmtr logs NAME` shows why the job is not running:
// `pmtr: cannot start web: dir: chdir /srv/web: No such file or directory` (the step and the
// error as pmtr's own log line has them).

import { appendFileSync } from "node:fs";
import type { JobSpec } from "../../config/model.ts";
import type { StartOutcome } from "../../core/ports.ts";
import { shownPath } from "../spawn/job-env.ts";
import { asIdentity, jobFsIdentity } from "./fs-identity.ts";
import type { RotatingFile } from "./rotating-file.ts";

export function startErrorLine(name: string, step: string, error: string): string {
  return `pmtr: cannot start ${name}: ${step}: ${error}\n`;
}

/** Appends the failure to the job's err file; `rotated(path)` is pmtr's open RotatingFile for
 *  that path, if any, which then takes the line (so its size stays right). Never throws. */
export function appendStartError(job: JobSpec, outcome: Extract<StartOutcome, { ok: false }>, rotated: (path: string) => RotatingFile | null): void {
  if (job.err === "syslog" || job.err === "console" || job.err === "/dev/null") return;
  const path = shownPath(job.dir, job.err);
  const identity = jobFsIdentity(job.user);
  if (identity === "unknown-user") return; // the job could not have opened it either
  const line = startErrorLine(job.name, outcome.step, outcome.error);
  try {
    const file = rotated(path);
    if (file) file.append(new TextEncoder().encode(line));
    else asIdentity(identity, () => appendFileSync(path, line, { mode: 0o644 }));
  } catch {
    // "when pmtr can open it": the reason is in pmtr's own log in any case.
  }
}
