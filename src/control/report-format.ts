// The UDP status report, byte-compatible with upstream pmtr's collectors:
//   report <hostname>\n
//   <name> <e|d> <seconds> <pid> <cmd-path>\n   (one line per job, in file order)
// seconds counts from the job's current or last start, as upstream does; 0 for a job that
// never ran. pid is 0 when no process is running.

import type { JobStatus } from "./target.ts";

export function formatReport(hostname: string, jobs: readonly JobStatus[]): string {
  let text = `report ${hostname}\n`;
  for (const job of jobs) {
    const seconds = job.sinceStartMs === null ? 0 : Math.max(0, Math.floor(job.sinceStartMs / 1000));
    text += `${job.name} ${job.enabled ? "e" : "d"} ${seconds} ${job.pid ?? 0} ${job.cmd}\n`;
  }
  return text;
}
