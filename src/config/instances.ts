// SPEC §15 `instances N`: one definition run N times as NAME.1 .. NAME.N. In an instance,
// `%i` in cmd, dir, in, out, err, env, env file paths and the `ready`/`check` probes (so each
// instance probes its own port or file) is the instance number and `%%` a literal %; any
// other % stays as written. Probes are read per instance by probe.ts (a port `80%i` is only a
// number once substituted) and handed in here. A job without `instances` is left exactly as
// written, so a `%` in an existing file keeps its meaning.
//
// Each instance is a complete JobSpec of its own: reloads compare instances one by one
// (sameJob), so changing N from 3 to 5 adds .4 and .5 and leaves .1-.3 running.

import type { CheckSpec, JobSpec, ReadySpec } from "./model.ts";

/** NAME.INDEX for INDEX in 1..count. */
export function instanceNames(base: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${base}.${i + 1}`);
}

/** Per instance (index 1 first), the `ready`/`check` read with its `%i`; absent: as in spec. */
export type InstanceProbes = { readonly ready?: ReadySpec | null; readonly check?: CheckSpec | null };

export function expandInstances(spec: JobSpec, count: number, probes: readonly InstanceProbes[] = []): JobSpec[] {
  return Array.from({ length: count }, (_, i) => instance(spec, i + 1, probes[i]));
}

function instance(spec: JobSpec, index: number, probes: InstanceProbes | undefined): JobSpec {
  const sub = (s: string): string => substitute(s, index);
  return {
    ...spec,
    ...probes,
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

/** True when `text` has a `%i` or `%%` that an instance would replace. */
export function hasMarks(text: string): boolean {
  return text.includes("%") && /%[%i]/.test(text);
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
