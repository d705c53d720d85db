// SPEC §11's restart policy as pure arithmetic: what becomes of a job whose run ended on its
// own (or whose start failed) — done, failed (gave up), restart at once, or a backoff delay.
// With the defaults (restart always, backoff 10s..10s without jitter, stable 10s, no give-up)
// this is exactly SPEC §4: a run shorter than 10 s is restarted 10 s after its exit.

import type { JobSpec, RestartPolicy } from "../config/model.ts";
import type { Effect, History, Rest } from "./job.ts";
import { msg } from "./messages.ts";
import type { ExitStatus } from "./ports.ts";

/** Exit status meaning "do not restart me" (SPEC §4), whatever the policy says. */
export const EXIT_DO_NOT_RESTART = 33;

export interface RunEnd {
  /** null for a failed start (it counts as a quick run, SPEC §3). */
  readonly status: ExitStatus | null;
  readonly ranMs: number;
}

export interface Decision {
  readonly rest: Rest;
  readonly history: History;
  readonly effects: readonly Effect[];
}

/** What follows the end of a run that pmtr did not ask for. */
export function decideAfterRun(spec: JobSpec, history: History, end: RunEnd, now: number): Decision {
  const { policy, name } = spec;
  const status = end.status;
  if (status?.kind === "exited" && status.code === EXIT_DO_NOT_RESTART) {
    return { rest: { kind: "done" }, history, effects: [log("info", msg.exit33(name))] };
  }
  if (status !== null && (spec.once || policy.restart === "never")) {
    return { rest: { kind: "done" }, history, effects: [log("info", msg.once(name))] };
  }
  if (status?.kind === "exited" && status.code === 0 && policy.restart === "on-failure") {
    return { rest: { kind: "done" }, history, effects: [log("info", msg.doneOnSuccess(name))] };
  }

  const quick = end.ranMs < policy.stableMs;
  const quickRuns = quick ? history.quickRuns + 1 : 0;
  const windowMs = policy.giveUp?.windowMs ?? 0;
  const recentFailures = policy.giveUp === null ? [] : [...history.recentFailures.filter((at) => at > now - windowMs), now];
  const next: History = { ...history, quickRuns, recentFailures };

  if (policy.giveUp !== null && recentFailures.length >= policy.giveUp.count) {
    return {
      rest: { kind: "failed" },
      history: { ...next, recentFailures: [] },
      effects: [log("err", msg.gaveUp(name, policy.giveUp.count, policy.giveUp.windowMs))],
    };
  }
  if (!quick) return { rest: { kind: "waiting" }, history: next, effects: [] };
  const delayMs = backoffDelayMs(policy, quickRuns, `${name}:${now}`);
  return {
    rest: { kind: "backoff", restartAt: now + delayMs, attempt: quickRuns },
    history: next,
    effects: [log("notice", policy.jitter ? msg.tooFastDetail(name, delayMs, quickRuns) : msg.tooFast(name))],
  };
}

/** min(MIN × 2^(q−1), MAX), ±10 % when `jitter` (SPEC §11). The jitter is derived from `seed`
 *  (job name and time) rather than Math.random, so the core stays a pure function. */
export function backoffDelayMs(policy: RestartPolicy, quickRuns: number, seed: string): number {
  const q = Math.max(1, quickRuns);
  // 2^(q-1) overflows nothing that matters: past ~40 doublings MAX has long won.
  const base = Math.min(policy.backoffMinMs * 2 ** Math.min(q - 1, 40), policy.backoffMaxMs);
  if (!policy.jitter) return base;
  const unit = hashUnit(seed); // 0..1
  return Math.max(1, Math.round(base * (0.9 + 0.2 * unit)));
}

/** A number in [0, 1) from a string (FNV-1a). */
function hashUnit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}

function log(level: "err" | "notice" | "info", message: string): Effect {
  return { kind: "log", level, message };
}
