// `pmtr -t --diff [-c FILE] [-s SOCKET]` (SPEC §15): what saving FILE would do to the running
// pmtr. FILE is read and checked as `-t` does (errors: exit 1); the running pmtr is asked for
// the definitions it runs now, and the plan is computed by planReload — the function the
// reload itself applies — so the printed plan and the reload cannot disagree.

import type { Config } from "../config/model.ts";
import { planReload } from "../core/reconcile.ts";
import { formatPlan } from "./plan-format.ts";
import { askPmtr } from "./socket-client.ts";

export type DiffOutcome = { readonly ok: true; readonly lines: string[] } | { readonly ok: false; readonly message: string };

export async function diffAgainstRunning(next: Config, socketPath: string | null): Promise<DiffOutcome> {
  const answer = await askPmtr({ op: "config" }, socketPath);
  if (!answer.ok) return { ok: false, message: answer.message };
  const response = answer.response;
  if (!response.ok) return { ok: false, message: response.error };
  if (response.op !== "config") return { ok: false, message: "pmtr answered something else than its configuration (is it an older pmtr?)" };
  return { ok: true, lines: formatPlan(planReload(response.jobs, next)) };
}
