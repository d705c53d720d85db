// The defaults of SPEC §11–§14 in one place. With them, a file that uses none of the new
// settings behaves exactly as §1–§9 say (10 s anti-spin delay, SIGTERM then SIGKILL at 10 s).

import type { JobSpec, RestartPolicy } from "./model.ts";

export const DEFAULT_POLICY: RestartPolicy = {
  restart: "always",
  backoffMinMs: 10_000,
  backoffMaxMs: 10_000,
  jitter: false,
  stableMs: 10_000,
  giveUp: null,
  stopSignal: "SIGTERM",
  stopTimeoutMs: 10_000,
};

export const DEFAULT_READY_WITHIN_MS = 60_000;
export const DEFAULT_CHECK = { everyMs: 30_000, timeoutMs: 5_000, failures: 3 } as const;
export const DEFAULT_ROTATE_KEEP = 5;

/** A JobSpec with every default of SPEC §2–§15 and `over` on top: for tests and benchmarks
 *  that build definitions by hand (the parser builds its own through finishJob). */
export function makeJob(over: Partial<JobSpec> & Pick<JobSpec, "name" | "argv">): JobSpec {
  return {
    dir: "/", in: "/dev/null", out: "/dev/null", err: "/dev/null", user: null, env: [], nice: 0, cpu: null,
    ulimits: [], bounceSec: null, depends: [], order: 0, wait: false, once: false, disabled: false,
    policy: DEFAULT_POLICY, ready: null, after: [], check: null, rotate: null,
    hooks: { onExit: null, onFail: null }, envFiles: [], instance: null, source: { file: "", line: 0 },
    ...over,
  };
}
