// Schemas for the values of single-value keywords. Each takes the token's text and yields
// the model value, or an issue whose message names the value and what was expected; `check`
// turns that into a plain result for the parser.

// zod/mini, not "zod": the same checks as functions instead of methods, so the bundle carries
// only the few pmtr uses. With the full API the daemon held ~4.5 MB more of zod's code
// (docs/PERFORMANCE.md, Memory).
import * as z from "zod/mini";
import { cut, show } from "./show.ts";

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };
export type ValueSchema<T> = z.ZodMiniType<T, string>;
/** What a value's transform gets besides the text: where `fail` puts its issue. */
export type Context = z.core.ParsePayload;

export function check<T>(schema: ValueSchema<T>, text: string): Checked<T> {
  const result = schema.safeParse(text);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: result.error.issues[0]?.message ?? `${show(text)} is not valid` };
}

/** A string turned into the model value by `toValue`, which calls `fail` to refuse it. */
export function text<T>(toValue: (s: string, ctx: Context) => T): ValueSchema<T> {
  return z.pipe(z.string(), z.transform(toValue));
}

/** A string that must match `pattern`; `message` says what is wrong with the text `s`. */
function matching(pattern: RegExp, message: (s: string) => string): ValueSchema<string> {
  return z.string().check(z.regex(pattern, { error: (iss) => message(String(iss.input)) }));
}

/** A transform that reports `message` as the schema's only issue. */
export function fail(ctx: Context, message: string): never {
  ctx.issues.push({ code: "custom", message, input: ctx.value });
  return z.NEVER;
}

export function integer(what: string, min: number, max: number): ValueSchema<number> {
  return z.pipe(
    matching(/^[+-]?\d+$/, (s) => `${what} ${show(s)} is not an integer (expected ${min}..${max})`),
    z.transform((s: string, ctx) => {
      const n = Number(s);
      return n >= min && n <= max ? n : fail(ctx, `${what} ${cut(s)} is out of range ${min}..${max}`);
    }),
  );
}

export const nice = integer("nice", -20, 19);
export const order = integer("order", -2147483648, 2147483647);

export function absolutePath(what: string): ValueSchema<string> {
  return z.string().check(z.startsWith("/", { error: (iss) => `${what} ${show(String(iss.input))} is not an absolute path (it must start with /)` }));
}

/** `out`, `err`, `in`: relative to `dir` unless absolute; `syslog` is passed through as is. */
export const ioPath: ValueSchema<string> = z.string();

// No whitespace of any kind (the lexer splits only on ASCII blanks, so a no-break space would
// otherwise pass) and no control or invisible format characters: a name is typed in
// `pmtr status NAME` and UDP datagrams and read in logs.
export const jobName: ValueSchema<string> = matching(
  /^[^\s\p{Cc}\p{Cf}]+$/u,
  (s) => `name ${show(s)} contains whitespace or invisible characters (use letters, digits, - or _)`,
);

// POSIX portable user names (plus the trailing $ of Samba machine accounts), or a numeric uid.
// Whether the user exists is checked when the job starts: accounts come and go.
// `UID:GID` (as docker's --user) is not offered: SPEC §2 runs a job with the user's own gid
// and groups, so the error says what to write instead.
export const user: ValueSchema<string> = matching(/^(\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/, (s) =>
  s.includes(":")
    ? `user ${show(s)}: give a user name or a numeric uid (a group cannot be given: the job runs with that user's own gid and groups, e.g. user ${cut(s.slice(0, s.indexOf(":")) || "daemon")})`
    : `user ${show(s)} is not a user name or numeric uid`);

export const envEntry: ValueSchema<string> = text((s, ctx) => {
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

export const bounceSec: ValueSchema<number> = text((s, ctx) => {
  const m = /^(\d+)([smhd]?)$/.exec(s);
  if (!m) return fail(ctx, `bounce every ${show(s)} is not a duration (expected a positive integer and a unit s, m, h or d, e.g. 12h)`);
  const [, digits = "", unit = ""] = m;
  if (unit === "") return fail(ctx, `bounce every ${cut(s)} needs a unit: s, m, h or d (e.g. ${cut(s)}s)`);
  const sec = Number(digits) * BOUNCE_UNIT_SEC[unit as keyof typeof BOUNCE_UNIT_SEC];
  if (sec <= 0) return fail(ctx, `bounce every ${cut(s)} must be positive`);
  if (sec > BOUNCE_MAX_SEC) return fail(ctx, `bounce every ${cut(s)} is longer than the maximum of 365d`);
  return sec;
});
