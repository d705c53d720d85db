// SPEC §11 restart and stop policy keywords:
//
//   restart   always | on-failure | never
//   backoff   MIN..MAX
//   stable    DURATION
//   give up after N in DURATION
//   stop signal NAME | SIGNAME | NUMBER
//   stop timeout DURATION

import type { ErrorList } from "./errors.ts";
import type { DraftJob } from "./job-draft.ts";
import type { Token } from "./lexer.ts";
import type { RestartPolicy } from "./model.ts";
import { durationMs } from "./duration.ts";
import { show } from "./show.ts";
import { parseSignal } from "./signal.ts";
import { firstUse, isWord, one, shownWords, value, type Take } from "./take.ts";
import * as v from "./values.ts";

const RESTART = ["always", "on-failure", "never"] as const;

const restartMode: v.ValueSchema<RestartPolicy["restart"]> = v.text((s, ctx) =>
  (RESTART as readonly string[]).includes(s) ? (s as RestartPolicy["restart"]) : v.fail(ctx, `restart ${show(s)} is not one of ${RESTART.join(", ")}`),
);

const backoffMin = durationMs("backoff minimum");
const backoffMax = durationMs("backoff maximum");

const backoffRange: v.ValueSchema<{ minMs: number; maxMs: number }> = v.text((s, ctx) => {
  const dots = s.indexOf("..");
  if (dots < 0) return v.fail(ctx, `backoff ${show(s)} is not MIN..MAX (e.g. backoff 1s..5m)`);
  const min = v.check(backoffMin, s.slice(0, dots));
  if (!min.ok) return v.fail(ctx, min.message);
  const max = v.check(backoffMax, s.slice(dots + 2));
  if (!max.ok) return v.fail(ctx, max.message);
  if (min.value > max.value) return v.fail(ctx, `backoff ${s}: the minimum is larger than the maximum`);
  return { minMs: min.value, maxMs: max.value };
});

export const restart: Take = one(restartMode, (j, x) => { j.policy.restart = x; });

/** Writing `backoff` also turns on the ±10 % jitter (SPEC §11); without it, §4's exact 10 s. */
export const backoff: Take = one(backoffRange, (j, x) => {
  j.policy.backoffMinMs = x.minMs;
  j.policy.backoffMaxMs = x.maxMs;
  j.policy.jitter = true;
});

export const stable: Take = one(durationMs("stable"), (j, x) => { j.policy.stableMs = x; });

const giveUpCount = v.integer("give up after", 1, 1_000_000);
const giveUpWindow = durationMs("give up window");

/** `give up after N in T`: the statement's keyword is `give`. */
export function giveUp(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  const [up, after, countTok, inTok, windowTok] = words;
  if (words.length !== 5 || !isWord(up, "up") || !isWord(after, "after") || !isWord(inTok, "in") || !countTok || !windowTok) {
    errors.add(keyword.line, `give must be written ${usage} (got ${shownWords([keyword, ...words])})`);
    return undefined;
  }
  const count = value(giveUpCount, countTok, errors);
  const windowMs = value(giveUpWindow, windowTok, errors);
  if (count !== null && windowMs !== null) job.policy.giveUp = { count, windowMs };
  return undefined;
}

const stopTimeout = durationMs("stop timeout");

/** `stop signal X` and `stop timeout D`: two settings under one keyword, each once per job. */
export function stop(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  const [what, arg] = words;
  const which = isWord(what, "signal") ? "signal" : isWord(what, "timeout") ? "timeout" : null;
  if (which === null || words.length !== 2 || !arg) {
    errors.add(keyword.line, `stop must be written ${usage} (got ${shownWords([keyword, ...words])})`);
    return undefined;
  }
  if (!firstUse(job, `stop ${which}`, keyword.line, errors)) return undefined;
  if (which === "timeout") {
    const ms = value(stopTimeout, arg, errors);
    if (ms !== null) job.policy.stopTimeoutMs = ms;
    return undefined;
  }
  const name = parseSignal(arg.text);
  if (name === null) errors.add(arg.line, `stop signal ${show(arg.text)} is not a signal (expected a name such as QUIT or SIGQUIT, or a number 1..31)`);
  else job.policy.stopSignal = name;
  return undefined;
}
