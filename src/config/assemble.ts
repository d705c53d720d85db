// The files of one configuration -> one Config, all or nothing (SPEC §6, §15): the main file
// and the files its `include` lines matched, each parsed on its own (parse.ts), then checked
// together — job names unique across all files and instances, `after` names resolved, no
// cycles — and instances expanded. Any error in any file and the result is every error, each
// naming its file and line; no Config.

import { resolveAfter, type Places } from "./after.ts";
import { capErrors, type ErrorList } from "./errors.ts";
import { deepFreeze } from "./freeze.ts";
import { expandInstances, instanceNames } from "./instances.ts";
import type { FinishedJob } from "./job-draft.ts";
import type { JobSpec, ParseResult } from "./model.ts";
import type { ParsedFile } from "./parse.ts";
import { show } from "./show.ts";

export function assemble(main: ParsedFile, included: readonly ParsedFile[]): ParseResult {
  const parts = [main, ...included];
  // Fresh lists: a ParsedFile may be reused across reloads (config-file.ts caches them by
  // content), so the errors found across files must not stick to it.
  const listOf = new Map<string, ErrorList>(parts.map((p) => [p.parsed.file, p.errors.copy()]));
  const places: Places = {
    add: (job, line, message) => listOf.get(job.spec.source.file)?.add(line, message),
    place: (from, to, line) => placeName(from.spec.source.file, to.spec.source.file, line),
  };
  const jobs = parts.flatMap((p) => p.parsed.jobs);
  const declared = checkNames(parts, listOf);
  const after = resolveAfter(jobs, declared, places);

  const errors = capErrors(parts.flatMap((p) => listOf.get(p.parsed.file)?.byLine() ?? []));
  if (errors.length > 0) return deepFreeze({ ok: false, errors });
  return deepFreeze({
    ok: true,
    config: {
      jobs: jobs.flatMap((job) => expand(job, after.get(job) ?? NO_AFTER)),
      reportTo: main.parsed.reportTo,
      listenOn: main.parsed.listenOn,
      metricsOn: main.parsed.metricsOn,
      includes: main.parsed.includes.map((i) => i.pattern),
      files: parts.map((p) => p.parsed.file).filter((f) => f !== ""),
    },
  });
}

const NO_AFTER: JobSpec["after"] = Object.freeze([]);

/** A job with no `after` and no instances is its parsed spec itself: the parse cache
 *  (os/config/config-file.ts) holds that one anyway, and a copy per job was ~0.3 KB more for as long
 *  as pmtr runs. */
function expand(job: FinishedJob, after: JobSpec["after"]): JobSpec[] {
  if (job.instances === null && after.length === 0 && job.spec.after.length === 0) return [job.spec];
  const spec = { ...job.spec, after };
  return job.instances === null ? [spec] : expandInstances(spec, job.instances, job.probes);
}

/** Names identify jobs in logs, UDP reports and control commands: unique across every file,
 *  instance names (web.1) included. Returns every name declared, valid job or not. */
function checkNames(parts: readonly ParsedFile[], listOf: ReadonlyMap<string, ErrorList>): Set<string> {
  const first = new Map<string, { file: string; line: number; instanceOf: string | null }>();
  const claim = (name: string, file: string, line: number, instanceOf: string | null): void => {
    const earlier = first.get(name);
    if (earlier === undefined) {
      first.set(name, { file, line, instanceOf });
      return;
    }
    const of = earlier.instanceOf ?? instanceOf;
    const why = of === null ? "" : `; ${show(name)} is an instance of ${show(of)}`;
    const where = placeName(file, earlier.file, earlier.line);
    listOf.get(file)?.add(line, `duplicate job name ${show(name)} (first used ${file === earlier.file ? "on" : "in"} ${where}${why})`);
  };
  for (const { parsed } of parts) {
    const instances = new Map(parsed.jobs.filter((j) => j.instances !== null).map((j) => [j.nameLine, j]));
    for (const { name, line } of parsed.names) {
      claim(name, parsed.file, line, null);
      const job = instances.get(line);
      if (job?.instances) for (const instance of instanceNames(name, job.instances)) claim(instance, parsed.file, line, name);
    }
  }
  return new Set(first.keys());
}

/** How a message in file `from` names line `line` of file `to`: "line 3" or "FILE:3". */
function placeName(from: string, to: string, line: number): string {
  return from === to ? `line ${line}` : `${to || "the main file"}:${line}`;
}
