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
  /** SPEC §11 restart and stop policy (applied in place when only it changes). */
  readonly policy: RestartPolicy;
  /** SPEC §12: null when the job has no `ready` line (it is ready once started). */
  readonly ready: ReadySpec | null;
  /** SPEC §12 `after` lines, in file order. */
  readonly after: readonly AfterSpec[];
  /** SPEC §12 health check on a running job (applied in place). */
  readonly check: CheckSpec | null;
  /** SPEC §13: null keeps `out`/`err` files direct (opened by the job). `out`/`err` may
   *  also be the literal "console" (pmtr's stdout/stderr, lines prefixed `NAME | `). */
  readonly rotate: RotateSpec | null;
  /** SPEC §14 event hooks (applied in place). */
  readonly hooks: HooksSpec;
  /** SPEC §15 `env file PATH` lines in file order: read at every start, before `env` (which wins). */
  readonly envFiles: readonly string[];
  /** SPEC §15 `instances N`: set on each expanded instance; null for a plain job. */
  readonly instance: InstanceRef | null;
  /** Where the block is; not part of the definition (see sameJob). */
  readonly source: SourceRef;
}

export interface Config {
  /** Jobs in file order. Start order is derived from `order` (stable), see startOrder. */
  readonly jobs: readonly JobSpec[];
  readonly reportTo: readonly UdpAddress[];
  readonly listenOn: UdpAddress | null;
  /** SPEC §14 `metrics on http://HOST:PORT`; null when not configured. */
  readonly metricsOn: { readonly host: string; readonly port: number } | null;
  /** SPEC §15 `include GLOB` patterns as written (absolute), to watch their directories. */
  readonly includes: readonly string[];
  /** Every file this configuration was read from: the main file, then included files in order. */
  readonly files: readonly string[];
}

/** A problem found in a configuration file, printed as `FILE:LINE: message`. */
export interface ConfigError {
  /** The included file the error is in; absent for the main file. */
  readonly file?: string;
  /** 1-based line of the offending token; 0 when the problem is the file as a whole. */
  readonly line: number;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly ConfigError[] };

/** Fields whose change is applied to a running job in place, without restarting it (SPEC §11). */
export const IN_PLACE_FIELDS = ["policy", "check", "hooks"] as const satisfies readonly (keyof JobSpec)[];

/** Not part of a definition at all: a block that only moved in the file is unchanged. */
const NOT_DEFINITION: ReadonlySet<string> = new Set(["source"]);

/** True when two definitions would run the same way: every field counts (nice included)
 *  except where the block stands in the file. */
export function sameJob(a: JobSpec, b: JobSpec): boolean {
  return changedFields(a, b).length === 0;
}

/** The top-level fields of a definition that differ, in JobSpec order ("nice", "policy", ...). */
export function changedFields(a: JobSpec, b: JobSpec): string[] {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => !NOT_DEFINITION.has(k) && !deepEqual(ra[k], rb[k]));
}

/** True when `a` can become `b` without restarting the process: only in-place fields differ.
 *  `rotate` counts as in place only while it stays set (size/keep): adding or removing it
 *  changes where the job's output goes, which needs a new process. */
export function appliesInPlace(a: JobSpec, b: JobSpec): boolean {
  const inPlace = new Set<string>(IN_PLACE_FIELDS);
  if (a.rotate !== null && b.rotate !== null) inPlace.add("rotate");
  return changedFields(a, b).every((k) => inPlace.has(k));
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

// ---- SPEC §10–§15: every setting optional; the defaults reproduce §1–§9 exactly ----------
// These groups are the contract between the parser and the rest of pmtr. A change confined to
// the groups that `inPlaceKeys` names is applied without touching the running process (SPEC §11).

/** SPEC §11. All durations in milliseconds. */
export interface RestartPolicy {
  /** `restart always|on-failure|never` (never is the same as `once`); default "always". */
  readonly restart: "always" | "on-failure" | "never";
  /** `backoff MIN..MAX`: delay after a quick run, doubling; without it 10 s both, no jitter. */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  /** ±10 % jitter: only when `backoff` is written in the file. */
  readonly jitter: boolean;
  /** `stable D`: a run at least this long counts as healthy; default 10 s. */
  readonly stableMs: number;
  /** `give up after N in T`; null never gives up. */
  readonly giveUp: { readonly count: number; readonly windowMs: number } | null;
  /** `stop signal`: canonical name, e.g. "SIGTERM" (default) or "SIGQUIT". */
  readonly stopSignal: string;
  /** `stop timeout`: SIGKILL to the group this long after the stop signal; default 10 s. */
  readonly stopTimeoutMs: number;
}

/** What a `ready` or `check` line probes (SPEC §12). */
export type Probe =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "http"; readonly url: string }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "exec"; readonly argv: readonly string[] }
  | { readonly kind: "notify" };

/** `ready PROBE [within D]`; notify and file only here, not in `check`. */
export interface ReadySpec {
  readonly probe: Probe;
  /** Default 60 s. */
  readonly withinMs: number;
}

/** `check tcp|http|exec ... [every D] [timeout D] [failures N]`. */
export interface CheckSpec {
  readonly probe: Probe;
  /** Default 30 s. */
  readonly everyMs: number;
  /** Default 5 s. */
  readonly timeoutMs: number;
  /** Default 3. */
  readonly failures: number;
}

/** `after NAME [ready|started|done]`; the condition is resolved by the parser (default `ready`
 *  when NAME has a `ready` line, else `started`). */
export interface AfterSpec {
  readonly name: string;
  readonly condition: "ready" | "started" | "done";
}

/** `rotate SIZE [keep N]` (SPEC §13): file outputs go through pmtr. */
export interface RotateSpec {
  readonly maxBytes: number;
  /** Default 5. */
  readonly keep: number;
}

/** `on exit CMD...`, `on fail CMD...` (SPEC §14): argv, absolute path first. */
export interface HooksSpec {
  readonly onExit: readonly string[] | null;
  readonly onFail: readonly string[] | null;
}

/** Where a job's definition came from: for `disabled in pmtr.conf:12` and error messages.
 *  Not part of the definition: moving a block within the file changes nothing. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  /** Line of each keyword's first use in the block ("user", "dir", "cmd", ...), and of each
   *  `env file` ("env file /etc/default/web"): for `pmtr -t` warnings that point at the line. */
  readonly lines?: Readonly<Record<string, number>>;
}

/** `instances N` (SPEC §15): this spec is instance `index` of `base` (named base.index). */
export interface InstanceRef {
  readonly base: string;
  readonly index: number;
}
