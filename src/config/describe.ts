// describeJob: the one-line summary `pmtr -t -v` prints per job. Only what differs from the
// defaults is listed, so a plain job reads as `name: /path args`.

import { DEFAULT_POLICY } from "./defaults.ts";
import { formatDuration } from "./duration.ts";
import type { JobSpec, Probe } from "./model.ts";

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
    ...policyExtras(job),
    job.ready !== null && `ready ${probe(job.ready.probe)} within ${formatDuration(job.ready.withinMs)}`,
    ...job.after.map((a) => `after ${a.name} ${a.condition}`),
    job.check !== null && `check ${probe(job.check.probe)} every ${formatDuration(job.check.everyMs)} timeout ${formatDuration(job.check.timeoutMs)} failures ${job.check.failures}`,
    job.rotate !== null && `rotate ${size(job.rotate.maxBytes)} keep ${job.rotate.keep}`,
    job.hooks.onExit !== null && `on exit ${job.hooks.onExit.map(quoteArg).join(" ")}`,
    job.hooks.onFail !== null && `on fail ${job.hooks.onFail.map(quoteArg).join(" ")}`,
    ...job.envFiles.map((f) => `env file ${f}`),
    job.instance !== null && `instance ${job.instance.index} of ${job.instance.base}`,
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

/** The SPEC §11 lines that differ from the defaults (`once` already says restart never). */
function policyExtras(job: JobSpec): string[] {
  const p = job.policy;
  return [
    p.restart === "on-failure" && "restart on-failure",
    p.jitter && `backoff ${formatDuration(p.backoffMinMs)}..${formatDuration(p.backoffMaxMs)}`,
    p.stableMs !== DEFAULT_POLICY.stableMs && `stable ${formatDuration(p.stableMs)}`,
    p.giveUp !== null && `give up after ${p.giveUp.count} in ${formatDuration(p.giveUp.windowMs)}`,
    p.stopSignal !== DEFAULT_POLICY.stopSignal && `stop signal ${p.stopSignal}`,
    p.stopTimeoutMs !== DEFAULT_POLICY.stopTimeoutMs && `stop timeout ${formatDuration(p.stopTimeoutMs)}`,
  ].filter((x): x is string => typeof x === "string");
}

function probe(p: Probe): string {
  switch (p.kind) {
    case "tcp":
      return `tcp ${p.host.includes(":") ? `[${p.host}]` : p.host}:${p.port}`;
    case "http":
      return `http ${p.url}`;
    case "file":
      return `file ${p.path}`;
    case "exec":
      return `exec ${p.argv.map(quoteArg).join(" ")}`;
    case "notify":
      return "notify";
  }
}

/** 10485760 -> "10M": the largest unit that divides evenly. */
function size(bytes: number): string {
  for (const [unit, n] of [["G", 1024 ** 3], ["M", 1024 ** 2], ["K", 1024]] as const) if (bytes % n === 0) return `${bytes / n}${unit}`;
  return `${bytes}`;
}
