// Durations of SPEC §11–§14 (`backoff 1s..5m`, `stable 30s`, `within 30s`, `every 10s`, ...):
// one schema for all of them, so every keyword accepts and refuses exactly the same forms.
// `bounce every` keeps its own (seconds, no `ms`) because it predates these.

import { cut, show } from "./show.ts";
import { fail, text, type ValueSchema } from "./values.ts";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A year: long enough for any policy, short enough that arithmetic on it stays exact. */
export const MAX_DURATION_MS = 365 * UNIT_MS.d;

/** A positive integer and a unit (ms s m h d) -> milliseconds; `what` starts the message. */
export function durationMs(what: string): ValueSchema<number> {
  return text((s, ctx) => {
    const m = /^(\d+)(ms|s|m|h|d)?$/.exec(s);
    if (!m) return fail(ctx, `${what} ${show(s)} is not a duration (expected a positive integer and a unit ms, s, m, h or d, e.g. 30s)`);
    const [, digits = "", unit] = m;
    if (unit === undefined) return fail(ctx, `${what} ${cut(s)} needs a unit: ms, s, m, h or d (e.g. ${cut(s)}s)`);
    const ms = Number(digits) * UNIT_MS[unit as keyof typeof UNIT_MS];
    if (ms <= 0) return fail(ctx, `${what} ${cut(s)} must be positive`);
    if (ms > MAX_DURATION_MS) return fail(ctx, `${what} ${cut(s)} is longer than the maximum of 365d`);
    return ms;
  });
}

/** 90000 -> "90s", 300000 -> "5m", 1500 -> "1500ms": the largest unit that divides evenly. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${ms}ms`;
}
