// Reconciliation (SPEC §6, §11): what applying a new configuration does to each job, decided
// from the two definitions alone. The supervisor applies the plan (supervisor.ts apply) and
// `pmtr -t --diff` prints it, so what the diff says is what a reload does. Pure.
//
//   planReload(oldJobs, newConfig) -> ReloadPlan
//
// Stable signature: oldJobs are the running configuration's jobs (Config.jobs, or the specs
// the daemon reports), newConfig the parsed new file. Entries come in the new file's order,
// then the removed jobs in the old file's order.

import type { Config, JobSpec } from "../config/model.ts";
import { appliesInPlace, changedFields } from "../config/model.ts";

export type PlanKind = "start" | "stop" | "restart" | "apply-in-place" | "unchanged";

export interface PlanEntry {
  readonly name: string;
  /** start: a new job, or one no longer `disable`d; stop: removed (spec null) or newly
   *  `disable`d; restart: its definition changed and the process must be replaced;
   *  apply-in-place: only policy-like fields changed (IN_PLACE_FIELDS), the process stays;
   *  unchanged: nothing to do (including a disabled job whose block changed). */
  readonly kind: PlanKind;
  /** The changed top-level fields of the definition ("cmd" is reported as "argv"); [] for a
   *  new, removed or unchanged job. */
  readonly fields: readonly string[];
  /** The new definition; null for a removed job. */
  readonly spec: JobSpec | null;
  /** The old definition; null for a new job. */
  readonly old: JobSpec | null;
}

export interface ReloadPlan {
  readonly entries: readonly PlanEntry[];
  /** Convenience counts for one summary line. */
  readonly counts: { readonly [K in PlanKind]: number };
}

export function planReload(oldJobs: readonly JobSpec[], newConfig: Pick<Config, "jobs">): ReloadPlan {
  const before = new Map(oldJobs.map((spec) => [spec.name, spec]));
  const names = new Set<string>();
  const entries: PlanEntry[] = [];
  for (const spec of newConfig.jobs) {
    names.add(spec.name);
    const old = before.get(spec.name) ?? null;
    entries.push(entryFor(old, spec));
  }
  for (const old of oldJobs) {
    if (!names.has(old.name)) entries.push({ name: old.name, kind: "stop", fields: [], spec: null, old });
  }
  const counts = { start: 0, stop: 0, restart: 0, "apply-in-place": 0, unchanged: 0 };
  for (const e of entries) counts[e.kind]++;
  return { entries, counts };
}

function entryFor(old: JobSpec | null, spec: JobSpec): PlanEntry {
  if (old === null) return { name: spec.name, kind: spec.disabled ? "unchanged" : "start", fields: [], spec, old };
  const fields = changedFields(old, spec);
  let kind: PlanKind;
  if (fields.length === 0) kind = "unchanged";
  else if (old.disabled && spec.disabled) kind = "unchanged";
  else if (spec.disabled) kind = "stop";
  else if (old.disabled) kind = "start";
  else if (appliesInPlace(old, spec)) kind = "apply-in-place";
  else kind = "restart";
  return { name: spec.name, kind, fields, spec, old };
}
