// `pmtr -t --diff` (SPEC §15): a reload plan (core/reconcile.ts planReload, the code the reload
// itself runs) as the operator reads it, one line per job that would change, in the file's
// terms, then the count of the rest:
//
//   start web.4
//   stop old-worker
//   restart db: cmd, nice changed
//   apply in place web.1: backoff, stop timeout changed
//   12 unchanged

import type { JobSpec, RestartPolicy } from "../config/model.ts";
import type { PlanEntry, ReloadPlan } from "../core/reconcile.ts";

export function formatPlan(plan: ReloadPlan): string[] {
  const lines: string[] = [];
  for (const e of plan.entries) {
    switch (e.kind) {
      case "start":
      case "stop":
        lines.push(`${e.kind} ${e.name}`);
        break;
      case "restart":
        lines.push(`restart ${e.name}: ${changed(e)}`);
        break;
      case "apply-in-place":
        lines.push(`apply in place ${e.name}: ${changed(e)}`);
        break;
      case "unchanged":
        break;
    }
  }
  lines.push(`${plan.counts.unchanged} unchanged`);
  return lines;
}

/** The JobSpec fields as the keywords that set them. */
const KEYWORD: Readonly<Record<string, string>> = {
  argv: "cmd", bounceSec: "bounce", disabled: "disable", ulimits: "ulimit", envFiles: "env file", instance: "instances",
};

const POLICY_KEYWORD: Readonly<Record<keyof RestartPolicy, string>> = {
  restart: "restart", backoffMinMs: "backoff", backoffMaxMs: "backoff", jitter: "backoff", stableMs: "stable",
  giveUp: "give up", stopSignal: "stop signal", stopTimeoutMs: "stop timeout",
};

function changed(e: PlanEntry): string {
  const words = new Set<string>();
  for (const field of e.fields) {
    if (field === "policy" && e.old && e.spec) for (const w of policyChanges(e.old, e.spec)) words.add(w);
    else if (field === "hooks" && e.old && e.spec) {
      if (JSON.stringify(e.old.hooks.onExit) !== JSON.stringify(e.spec.hooks.onExit)) words.add("on exit");
      if (JSON.stringify(e.old.hooks.onFail) !== JSON.stringify(e.spec.hooks.onFail)) words.add("on fail");
    } else words.add(KEYWORD[field] ?? field);
  }
  return `${[...words].join(", ")} changed`;
}

function policyChanges(a: JobSpec, b: JobSpec): string[] {
  const keys = Object.keys(POLICY_KEYWORD) as (keyof RestartPolicy)[];
  return keys.filter((k) => JSON.stringify(a.policy[k]) !== JSON.stringify(b.policy[k])).map((k) => POLICY_KEYWORD[k]);
}
