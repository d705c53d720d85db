// What the configuration file says, and nothing else: no pids, no timers, no runtime state.
// Every object here is built by the parser and frozen, so "has this job changed?" is a
// structural comparison of two JobSpecs (see sameJob) rather than a hand-kept list of fields
// — upstream pmtr forgot `nice` in exactly such a list.

/** One `ulimit` setting. Both the soft and the hard limit are set to `value`. */
export interface Rlimit {
  /** Canonical resource name, e.g. "RLIMIT_NOFILE" (also given for a bash flag such as -n). */
  readonly resource: string;
  /** In setrlimit's raw unit; "unlimited" is RLIM_INFINITY. */
  readonly value: number | "unlimited";
}

/** A `udp://HOST:PORT[@IFACE]` address from `report to` or `listen on`. */
export interface UdpAddress {
  readonly host: string;
  readonly port: number;
  /** Multicast interface (only `report to` accepts one); null when not given. */
  readonly iface: string | null;
}

export interface JobSpec {
  readonly name: string;
  /** argv[0] is the absolute path of the program; no shell, no PATH search. */
  readonly argv: readonly string[];
  /** Absolute working directory; "/" when not given. */
  readonly dir: string;
  /** stdin, stdout, stderr: a path (relative to dir unless absolute), "/dev/null" by default.
   *  `out`/`err` may also be the literal "syslog". */
  readonly in: string;
  readonly out: string;
  readonly err: string;
  /** User name (or numeric uid) to run as; null runs as pmtr's own user. */
  readonly user: string | null;
  /** "VAR=VALUE" entries in file order, applied on top of pmtr's environment. */
  readonly env: readonly string[];
  /** -20..19, default 0. */
  readonly nice: number;
  /** CPU numbers for the affinity mask, ascending and unique; null leaves affinity alone. */
  readonly cpu: readonly number[] | null;
  /** In file order; a later setting of the same resource wins. */
  readonly ulimits: readonly Rlimit[];
  /** `bounce every`: restart after this many seconds of running; null when not set. */
  readonly bounceSec: number | null;
  /** Absolute paths whose content changes restart the job. */
  readonly depends: readonly string[];
  /** Lower starts first; ties keep file order. Default 0. */
  readonly order: number;
  readonly wait: boolean;
  readonly once: boolean;
  readonly disabled: boolean;
}

export interface Config {
  /** Jobs in file order. Start order is derived from `order` (stable), see startOrder. */
  readonly jobs: readonly JobSpec[];
  readonly reportTo: readonly UdpAddress[];
  readonly listenOn: UdpAddress | null;
}

/** A problem found in a configuration file, printed as `FILE:LINE: message`. */
export interface ConfigError {
  /** 1-based line of the offending token; 0 when the problem is the file as a whole. */
  readonly line: number;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly ConfigError[] };

/** True when two definitions would run the same way: every field counts, nice included. */
export function sameJob(a: JobSpec, b: JobSpec): boolean {
  return deepEqual(a, b);
}

/** Jobs in the order they are started: by `order`, ties in file order. */
export function startOrder(jobs: readonly JobSpec[]): JobSpec[] {
  return jobs
    .map((job, index) => ({ job, index }))
    .sort((x, y) => x.job.order - y.job.order || x.index - y.index)
    .map(({ job }) => job);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
