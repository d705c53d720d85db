// SPEC §15 `instances N`: one definition run N times as NAME.1 .. NAME.N. In an instance,
// `%i` in cmd, dir, in, out, err, env (and env file paths) is the instance number and `%%` a
// literal %; any other % stays as written. A job without `instances` is left exactly as
// written, so a `%` in an existing file keeps its meaning.
//
// Each instance is a complete JobSpec of its own: reloads compare instances one by one
// (sameJob), so changing N from 3 to 5 adds .4 and .5 and leaves .1-.3 running.

import type { JobSpec } from "./model.ts";

/** NAME.INDEX for INDEX in 1..count. */
export function instanceNames(base: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${base}.${i + 1}`);
}

export function expandInstances(spec: JobSpec, count: number): JobSpec[] {
  return Array.from({ length: count }, (_, i) => instance(spec, i + 1));
}

function instance(spec: JobSpec, index: number): JobSpec {
  const sub = (s: string): string => substitute(s, index);
  return {
    ...spec,
    name: `${spec.name}.${index}`,
    argv: spec.argv.map(sub),
    dir: sub(spec.dir),
    in: sub(spec.in),
    out: sub(spec.out),
    err: sub(spec.err),
    env: spec.env.map(sub),
    envFiles: spec.envFiles.map(sub),
    instance: { base: spec.name, index },
  };
}

/** `%i` -> index, `%%` -> `%`, in one left-to-right pass (so `%%i` is a literal `%i`). */
export function substitute(text: string, index: number): string {
  if (!text.includes("%")) return text;
  return text.replace(/%[%i]/g, (m) => (m === "%%" ? "%" : String(index)));
}

/** The names the control commands act on for `names` (SPEC §15: `pmtr restart web` acts on
 *  every instance of web, `web.2` on one): each name as is when a job has it, else every job
 *  named NAME.N, in `jobs` order (the parser refuses a job named like another's instance, so
 *  these are its instances); unknown names are kept, for the caller to report. Each once. */
export function expandNames(names: readonly string[], jobs: ReadonlyMap<string, unknown>): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (jobs.has(name)) {
      out.add(name);
      continue;
    }
    const prefix = `${name}.`;
    const instances = [...jobs.keys()].filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)));
    for (const n of instances.length > 0 ? instances : [name]) out.add(n);
  }
  return [...out];
}
