// `ulimit FLAG VALUE`: FLAG is a bash `ulimit` letter or an RLIMIT_* name, and both become
// the canonical RLIMIT name; VALUE is setrlimit's raw unit (bytes, seconds, count) or
// unlimited/infinity. The exec helper sets soft and hard limit alike.

import type { Rlimit } from "./model.ts";
import { show } from "./show.ts";
import { fail, text, type ValueSchema } from "./values.ts";

/** The letters of bash's `ulimit` builtin that pmtr accepts. */
export const ULIMIT_FLAGS: Readonly<Record<string, string>> = {
  "-c": "RLIMIT_CORE",
  "-d": "RLIMIT_DATA",
  "-e": "RLIMIT_NICE",
  "-f": "RLIMIT_FSIZE",
  "-i": "RLIMIT_SIGPENDING",
  "-l": "RLIMIT_MEMLOCK",
  "-m": "RLIMIT_RSS",
  "-n": "RLIMIT_NOFILE",
  "-q": "RLIMIT_MSGQUEUE",
  "-r": "RLIMIT_RTPRIO",
  "-s": "RLIMIT_STACK",
  "-t": "RLIMIT_CPU",
  "-u": "RLIMIT_NPROC",
  "-v": "RLIMIT_AS",
};

/** Every Linux resource, by name (two have no bash letter here). */
export const RLIMIT_NAMES: readonly string[] = [...Object.values(ULIMIT_FLAGS), "RLIMIT_LOCKS", "RLIMIT_RTTIME"];

const FLAG_LIST = Object.keys(ULIMIT_FLAGS).join(" ");

export const ulimitResource: ValueSchema<string> = text((s, ctx) => {
  const resource = Object.hasOwn(ULIMIT_FLAGS, s) ? ULIMIT_FLAGS[s] : RLIMIT_NAMES.includes(s) ? s : undefined;
  return resource ?? fail(ctx, `unknown ulimit flag ${show(s)} (expected one of ${FLAG_LIST} or an RLIMIT_* name such as RLIMIT_NOFILE)`);
});

/** One schema per flag as written (at most 30), built once: building a schema costs far
 *  more than running it, and a 1000-job file has thousands of ulimit lines. */
const valueSchemas = new Map<string, ValueSchema<Rlimit["value"]>>();

export function ulimitValue(resource: string, flag: string): ValueSchema<Rlimit["value"]> {
  let schema = valueSchemas.get(flag);
  if (!schema) valueSchemas.set(flag, (schema = buildValueSchema(resource, flag)));
  return schema;
}

function buildValueSchema(resource: string, flag: string): ValueSchema<Rlimit["value"]> {
  return text((s, ctx) => {
    if (s === "unlimited" || s === "infinity") {
      // Linux refuses RLIM_INFINITY for open files (it exceeds fs.nr_open): say so now rather
      // than fail every start of the job.
      if (resource === "RLIMIT_NOFILE") return fail(ctx, `ulimit ${flag} cannot be ${s} (give a number such as 65536)`);
      return "unlimited";
    }
    if (!/^\d+$/.test(s)) return fail(ctx, `ulimit ${flag} value ${show(s)} is not a number (expected a non-negative integer, unlimited or infinity)`);
    const n = Number(s);
    if (!Number.isSafeInteger(n)) return fail(ctx, `ulimit ${flag} value ${show(s)} is too large (use unlimited)`);
    return n;
  });
}
