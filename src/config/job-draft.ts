// A job while its block is being read: every field optional, plus where each keyword was
// first seen. `finishJob` applies the defaults of SPEC §2 and §11–§15 and reports what is
// missing or contradictory within the block; what needs the other jobs (`after`, instance
// names, duplicates) is checked when the whole configuration is assembled (assemble.ts).

import type { ErrorList } from "./errors.ts";
import type { AfterSpec, CheckSpec, JobSpec, ReadySpec, RestartPolicy, Rlimit, RotateSpec } from "./model.ts";
import { DEFAULT_POLICY } from "./defaults.ts";
import type { InstanceProbes } from "./instances.ts";
import { indexedProbes, type IndexedLine } from "./probe.ts";
import { show } from "./show.ts";

/** An `after` line before the names are known: the condition is null when not written. */
export interface DraftAfter {
  readonly name: string;
  readonly condition: AfterSpec["condition"] | null;
  readonly line: number;
}

export interface DraftJob {
  /** Line of `job {`: where errors about the job as a whole are reported. */
  readonly line: number;
  /** Keyword (or "stop signal", "on exit", ...) -> line of its first use, for "given twice" errors. */
  readonly seen: Map<string, number>;
  name: string | null;
  nameLine: number;
  argv: string[] | null;
  dir: string | null;
  in: string | null;
  out: string | null;
  err: string | null;
  user: string | null;
  env: string[];
  nice: number | null;
  cpu: number[] | null;
  ulimits: Rlimit[];
  bounceSec: number | null;
  depends: string[];
  order: number | null;
  wait: boolean;
  once: boolean;
  disabled: boolean;
  /** SPEC §11: only what the file sets; finishJob fills the rest from DEFAULT_POLICY. */
  policy: { -readonly [K in keyof RestartPolicy]?: RestartPolicy[K] };
  ready: ReadySpec | null;
  after: DraftAfter[];
  check: CheckSpec | null;
  rotate: RotateSpec | null;
  onExit: string[] | null;
  onFail: string[] | null;
  envFiles: string[];
  instances: number | null;
  /** `ready`/`check` lines with `%i` or `%%`: read by finishJob, once `instances` is known. */
  perInstance: { ready?: IndexedLine; check?: IndexedLine };
}

/** A finished block: the spec, plus what assemble.ts resolves against the other jobs. */
export interface FinishedJob {
  readonly spec: JobSpec;
  /** Line of `name`, where a duplicate name is reported. */
  readonly nameLine: number;
  readonly after: readonly DraftAfter[];
  /** `instances N`, or null for a plain job. */
  readonly instances: number | null;
  /** With instances: each one's `ready`/`check` read with its `%i` (index 1 first). */
  readonly probes: readonly InstanceProbes[];
}

export function newDraft(line: number): DraftJob {
  return {
    line, seen: new Map(), name: null, nameLine: line, argv: null, dir: null, in: null, out: null, err: null,
    user: null, env: [], nice: null, cpu: null, ulimits: [], bounceSec: null, depends: [], order: null,
    wait: false, once: false, disabled: false, policy: {}, ready: null, after: [], check: null, rotate: null,
    onExit: null, onFail: null, envFiles: [], instances: null, perInstance: {},
  };
}

/** Shared by every job that sets none of them: 100 000 jobs of a hostile file would otherwise
 *  each carry objects of their own to build and freeze. Frozen, as the whole model is. */
const ONCE_POLICY: RestartPolicy = Object.freeze({ ...DEFAULT_POLICY, restart: "never" });
const NO_HOOKS: JobSpec["hooks"] = Object.freeze({ onExit: null, onFail: null });
Object.freeze(DEFAULT_POLICY);
/** One empty list for every job's unset env, ulimits, depends, envFiles: JavaScriptCore keeps
 *  a frozen array in a sparse map of its own (~370 bytes; an unfrozen one ~90), four per plain
 *  job. */
const NONE: readonly never[] = Object.freeze([]);
const listOf = <T>(list: T[]): readonly T[] => (list.length === 0 ? NONE : list);

function policyOf(d: DraftJob, once: boolean): RestartPolicy {
  if (Object.keys(d.policy).length === 0 || (Object.keys(d.policy).length === 1 && d.policy.restart !== undefined)) {
    return once ? ONCE_POLICY : d.policy.restart === "on-failure" ? { ...DEFAULT_POLICY, restart: "on-failure" } : DEFAULT_POLICY;
  }
  return { ...DEFAULT_POLICY, ...d.policy, restart: once ? "never" : (d.policy.restart ?? DEFAULT_POLICY.restart) };
}

/** Outputs that are not files pmtr could rotate. */
const NOT_A_FILE = new Set(["/dev/null", "syslog", "console"]);

/** The finished job, or null when `name` or `cmd` is missing (reported in `errors`). */
export function finishJob(d: DraftJob, file: string, errors: ErrorList): FinishedJob | null {
  // A keyword that was given but invalid has been reported already: do not also call it missing.
  if (d.name === null && !d.seen.has("name")) errors.add(d.line, "job has no name (add: name NAME)");
  if (d.argv === null && !d.seen.has("cmd")) errors.add(d.line, `job ${d.name === null ? "" : `${show(d.name)} `}has no cmd (add: cmd /path/to/program ARGS)`);
  const restartLine = d.seen.get("restart");
  if (d.once && d.policy.restart !== undefined && d.policy.restart !== "never") {
    errors.add(restartLine ?? d.line, `restart ${d.policy.restart} contradicts once on line ${d.seen.get("once")} (once means restart never: remove one of them)`);
  }
  const out = d.out ?? "/dev/null";
  const err = d.err ?? "/dev/null";
  if (d.rotate && NOT_A_FILE.has(out) && NOT_A_FILE.has(err)) {
    errors.add(d.seen.get("rotate") ?? d.line, `rotate needs out or err to be a file (they are ${out} and ${err}: add e.g. out web.log)`);
  }
  const probes = indexedProbes(d.perInstance, d.name, d.instances, errors);
  if (d.name === null || d.argv === null) return null;
  // `once` and `restart never` are one setting written two ways: both fields say it, so the
  // core can read either and a file that changes one spelling for the other changes nothing.
  const once = d.once || d.policy.restart === "never";
  const spec: JobSpec = {
    name: d.name,
    argv: d.argv,
    dir: d.dir ?? "/",
    in: d.in ?? "/dev/null",
    out,
    err,
    user: d.user,
    env: listOf(d.env),
    nice: d.nice ?? 0,
    cpu: d.cpu,
    ulimits: listOf(d.ulimits),
    bounceSec: d.bounceSec,
    depends: listOf(d.depends),
    order: d.order ?? 0,
    wait: d.wait,
    once,
    disabled: d.disabled,
    policy: policyOf(d, once),
    ready: d.ready,
    after: NONE,
    check: d.check,
    // As written for a plain job; instance 1's for the base of instances (after.ts reads
    // whether it has a `ready`; expandInstances gives each instance its own).
    ...probes[0],
    rotate: d.rotate,
    hooks: d.onExit === null && d.onFail === null ? NO_HOOKS : { onExit: d.onExit, onFail: d.onFail },
    envFiles: listOf(d.envFiles),
    instance: null,
    source: { file, line: d.line, lines: Object.fromEntries(d.seen) },
  };
  return { spec, nameLine: d.nameLine, after: d.after, instances: d.instances, probes: d.instances === null ? [] : probes };
}
