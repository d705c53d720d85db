// Where `pmtr logs NAME` finds a job's output (SPEC §13), from the job's definition: a file to
// read, or a sentence saying where the lines go instead. Pure.

import type { JobSpec } from "../config/model.ts";

export type OutputPlace =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "elsewhere"; readonly text: string };

/** Which syslog this host has: journald's (`journalctl -t NAME` finds the lines), another
 *  daemon's /dev/log, or none — then pmtr writes `syslog` lines to its own stderr instead
 *  (README, Logging), and to its -l file: a detached pmtr without syslog always has one. */
export type SyslogKind = "journald" | "syslog" | "none";

export function outputPlace(job: JobSpec, stream: "out" | "err", syslog: SyslogKind): OutputPlace {
  const path = job[stream];
  const what = stream === "out" ? "stdout" : "stderr";
  switch (path) {
    case "/dev/null":
      return { kind: "elsewhere", text: `job ${job.name}: ${what} is discarded (${stream} /dev/null)` };
    case "syslog":
      return {
        kind: "elsewhere",
        text:
          syslog === "journald"
            ? `job ${job.name}: ${what} goes to syslog: journalctl -t ${job.name}`
            : syslog === "syslog"
              ? `job ${job.name}: ${what} goes to syslog, tagged ${job.name} (e.g. grep '${job.name}\\[' /var/log/syslog)`
              : `job ${job.name}: ${what} goes to syslog, but there is no syslog at /dev/log: pmtr writes the lines to its own stderr as "${job.name}[PID]: line" and to its -l file (in the background, where stderr is /dev/null, that file is where they are)`,
      };
    case "console":
      return { kind: "elsewhere", text: `job ${job.name}: ${what} goes to pmtr's ${what} as "${job.name} | line" (docker logs / kubectl logs of pmtr's container)` };
    default:
      return { kind: "file", path: path.startsWith("/") ? path : `${job.dir.replace(/\/$/, "")}/${path}` };
  }
}
