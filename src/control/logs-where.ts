// Where `pmtr logs NAME` finds a job's output (SPEC §13), from the job's definition: a file to
// read, or a sentence saying where the lines go instead. Pure.

import type { JobSpec } from "../config/model.ts";

export type OutputPlace =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "elsewhere"; readonly text: string };

/** `journald`: syslog is journald's (its socket exists), so `journalctl -t NAME` finds the lines. */
export function outputPlace(job: JobSpec, stream: "out" | "err", journald: boolean): OutputPlace {
  const path = job[stream];
  const what = stream === "out" ? "stdout" : "stderr";
  switch (path) {
    case "/dev/null":
      return { kind: "elsewhere", text: `job ${job.name}: ${what} is discarded (${stream} /dev/null)` };
    case "syslog":
      return {
        kind: "elsewhere",
        text: journald
          ? `job ${job.name}: ${what} goes to syslog: journalctl -t ${job.name}`
          : `job ${job.name}: ${what} goes to syslog, tagged ${job.name} (e.g. grep '${job.name}\\[' /var/log/syslog)`,
      };
    case "console":
      return { kind: "elsewhere", text: `job ${job.name}: ${what} goes to pmtr's ${what} as "${job.name} | line" (docker logs / kubectl logs of pmtr's container)` };
    default:
      return { kind: "file", path: path.startsWith("/") ? path : `${job.dir.replace(/\/$/, "")}/${path}` };
  }
}
