// A job while its block is being read: every field optional, plus where each keyword was
// first seen. `finishJob` applies the defaults of SPEC §2 and reports what is missing.

import type { ErrorList } from "./errors.ts";
import type { JobSpec, Rlimit } from "./model.ts";
import { DEFAULT_POLICY } from "./defaults.ts";
import { show } from "./show.ts";

export interface DraftJob {
  /** Line of `job {`: where errors about the job as a whole are reported. */
  readonly line: number;
  /** Keyword -> line of its first use, for "given twice" errors. */
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
}

export function newDraft(line: number): DraftJob {
  return {
    line, seen: new Map(), name: null, nameLine: line, argv: null, dir: null, in: null, out: null, err: null,
    user: null, env: [], nice: null, cpu: null, ulimits: [], bounceSec: null, depends: [], order: null,
    wait: false, once: false, disabled: false,
  };
}

/** The finished spec, or null when `name` or `cmd` is missing (reported in `errors`). */
export function finishJob(d: DraftJob, errors: ErrorList): JobSpec | null {
  // A keyword that was given but invalid has been reported already: do not also call it missing.
  if (d.name === null && !d.seen.has("name")) errors.add(d.line, "job has no name (add: name NAME)");
  if (d.argv === null && !d.seen.has("cmd")) errors.add(d.line, `job ${d.name === null ? "" : `${show(d.name)} `}has no cmd (add: cmd /path/to/program ARGS)`);
  if (d.name === null || d.argv === null) return null;
  return {
    name: d.name,
    argv: d.argv,
    dir: d.dir ?? "/",
    in: d.in ?? "/dev/null",
    out: d.out ?? "/dev/null",
    err: d.err ?? "/dev/null",
    user: d.user,
    env: d.env,
    nice: d.nice ?? 0,
    cpu: d.cpu,
    ulimits: d.ulimits,
    bounceSec: d.bounceSec,
    depends: d.depends,
    order: d.order ?? 0,
    wait: d.wait,
    once: d.once,
    disabled: d.disabled,
    policy: DEFAULT_POLICY,
    ready: null,
    after: [],
    check: null,
    rotate: null,
    hooks: { onExit: null, onFail: null },
    envFiles: [],
    instance: null,
    source: { file: "", line: d.line },
  };
}
