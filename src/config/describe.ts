// describeJob: the one-line summary `pmtr -t -v` prints per job. Only what differs from the
// defaults is listed, so a plain job reads as `name: /path args`.

import type { JobSpec } from "./model.ts";

export function describeJob(job: JobSpec): string {
  const extras = [
    job.dir !== "/" && `dir ${job.dir}`,
    job.in !== "/dev/null" && `in ${job.in}`,
    job.out !== "/dev/null" && `out ${job.out}`,
    job.err !== "/dev/null" && `err ${job.err}`,
    job.user !== null && `user ${job.user}`,
    ...job.env.map(envEntry),
    job.nice !== 0 && `nice ${job.nice}`,
    job.cpu !== null && `cpu ${cpuList(job.cpu)}`,
    ...job.ulimits.map((u) => `ulimit ${u.resource}=${u.value}`),
    job.bounceSec !== null && `bounce every ${duration(job.bounceSec)}`,
    ...job.depends.map((d) => `depends ${d}`),
    job.order !== 0 && `order ${job.order}`,
    job.wait && "wait",
    job.once && "once",
    job.disabled && "disabled",
  ].filter((x): x is string => typeof x === "string");
  const cmd = job.argv.map(quoteArg).join(" ");
  return extras.length > 0 ? `${job.name}: ${cmd} (${extras.join(", ")})` : `${job.name}: ${cmd}`;
}

/** As it would be written in the file: quoted when it holds a space or is empty. */
function quoteArg(arg: string): string {
  return arg === "" || /[\s#]/.test(arg) ? `"${arg}"` : arg;
}

/** VAR=VALUE with the value quoted as in the file: env GREETING="hello world". */
function envEntry(entry: string): string {
  const eq = entry.indexOf("=");
  return `env ${entry.slice(0, eq + 1)}${quoteArg(entry.slice(eq + 1))}`;
}

/** [0,2,3,4] -> "0,2-4". */
function cpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === (cpus[j] ?? 0) + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** 86400 -> "1d", 90 -> "90s": the largest unit that divides evenly. */
function duration(sec: number): string {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) if (sec % size === 0) return `${sec / size}${unit}`;
  return `${sec}s`;
}
