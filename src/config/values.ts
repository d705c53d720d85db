// Schemas for the values of single-value keywords. Each takes the token's text and yields
// the model value, or an issue whose message names the value and what was expected; `check`
// turns that into a plain result for the parser.

import { z } from "zod";
import { cut, show } from "./show.ts";

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };
export type ValueSchema<T> = z.ZodType<T, string>;

export function check<T>(schema: ValueSchema<T>, text: string): Checked<T> {
  const result = schema.safeParse(text);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: result.error.issues[0]?.message ?? `${show(text)} is not valid` };
}

/** A transform that reports `message` as the schema's only issue. */
export function fail(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER;
}

export function integer(what: string, min: number, max: number): ValueSchema<number> {
  return z
    .string()
    .regex(/^[+-]?\d+$/, { error: (iss) => `${what} ${show(String(iss.input))} is not an integer (expected ${min}..${max})` })
    .transform((s, ctx) => {
      const n = Number(s);
      return n >= min && n <= max ? n : fail(ctx, `${what} ${cut(s)} is out of range ${min}..${max}`);
    });
}

export const nice = integer("nice", -20, 19);
export const order = integer("order", -2147483648, 2147483647);

export function absolutePath(what: string): ValueSchema<string> {
  return z.string().startsWith("/", { error: (iss) => `${what} ${show(String(iss.input))} is not an absolute path (it must start with /)` });
}

/** `out`, `err`, `in`: relative to `dir` unless absolute; `syslog` is passed through as is. */
export const ioPath: ValueSchema<string> = z.string();

// No whitespace of any kind (the lexer splits only on ASCII blanks, so a no-break space would
// otherwise pass) and no control or invisible format characters: a name is typed in
// `pmtr status NAME` and UDP datagrams and read in logs.
export const jobName: ValueSchema<string> = z
  .string()
  .regex(/^[^\s\p{Cc}\p{Cf}]+$/u, { error: (iss) => `name ${show(String(iss.input))} contains whitespace or invisible characters (use letters, digits, - or _)` });

// POSIX portable user names (plus the trailing $ of Samba machine accounts), or a numeric uid.
// Whether the user exists is checked when the job starts: accounts come and go.
export const user: ValueSchema<string> = z
  .string()
  .regex(/^(\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/, { error: (iss) => `user ${show(String(iss.input))} is not a user name or numeric uid` });

export const envEntry: ValueSchema<string> = z.string().transform((s, ctx) => {
  const eq = s.indexOf("=");
  if (eq < 0) return fail(ctx, `env ${show(s)} has no "=" (expected VAR=VALUE)`);
  const name = s.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return fail(ctx, `env variable name ${show(name)} is not valid (expected letters, digits and _, not starting with a digit)`);
  }
  return s;
});

const BOUNCE_UNIT_SEC = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const BOUNCE_MAX_SEC = 365 * 86400;

export const bounceSec: ValueSchema<number> = z.string().transform((s, ctx) => {
  const m = /^(\d+)([smhd]?)$/.exec(s);
  if (!m) return fail(ctx, `bounce every ${show(s)} is not a duration (expected a positive integer and a unit s, m, h or d, e.g. 12h)`);
  const [, digits = "", unit = ""] = m;
  if (unit === "") return fail(ctx, `bounce every ${cut(s)} needs a unit: s, m, h or d (e.g. ${cut(s)}s)`);
  const sec = Number(digits) * BOUNCE_UNIT_SEC[unit as keyof typeof BOUNCE_UNIT_SEC];
  if (sec <= 0) return fail(ctx, `bounce every ${cut(s)} must be positive`);
  if (sec > BOUNCE_MAX_SEC) return fail(ctx, `bounce every ${cut(s)} is longer than the maximum of 365d`);
  return sec;
});
