// `env file PATH` at every start of a job (SPEC §15): read now, so an edit takes effect at the
// next start (list the file in `depends` to restart on change). Its entries go before the
// job's `env` lines, which win. A missing, unreadable or malformed file fails the start with a
// reason naming FILE:LINE; values never appear in a reason or the log.
//
// For a job that runs as root under a root pmtr, the file must be owned by root and not
// writable by group or others, like the configuration itself: whoever may write it could set
// LD_PRELOAD for a root process. Checked on the fstat of the descriptor that is read.

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { parseEnvFile } from "../../config/env-file.ts";
import type { JobSpec } from "../../config/model.ts";
import { describeFaults, rootOnlyFaults } from "./root-only.ts";

/** Larger than any environment; bounds what a mistaken path (a log file) costs. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

export type WithEnvFiles = { readonly ok: true; readonly job: JobSpec } | { readonly ok: false; readonly error: string };

/** `job` with its env files' entries before its own `env`; the job itself when it has none. */
export function withEnvFiles(job: JobSpec, pmtrIsRoot: boolean): WithEnvFiles {
  if (job.envFiles.length === 0) return { ok: true, job };
  const runsAsRoot = pmtrIsRoot && (job.user === null || job.user === "root" || job.user === "0");
  const entries: string[] = [];
  for (const path of job.envFiles) {
    const read = readEnvFile(path, runsAsRoot);
    if (!read.ok) return read;
    entries.push(...read.entries);
  }
  return { ok: true, job: { ...job, env: [...entries, ...job.env] } };
}

function readEnvFile(path: string, mustBeRootOnly: boolean): { ok: true; entries: readonly string[] } | { ok: false; error: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (code ?? String(e));
    return { ok: false, error: `${path}: cannot read: ${why}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, error: `${path}: not a regular file` };
    if (mustBeRootOnly) {
      const faults = rootOnlyFaults(path, st);
      if (faults.length > 0) {
        const { fault, fix } = describeFaults(faults);
        return { ok: false, error: `${path}: refusing an env file ${fault}: the job runs as root and would take its environment from it (fix: ${fix})` };
      }
    }
    if (st.size > MAX_ENV_FILE_BYTES) return { ok: false, error: `${path}: is over the 1 MiB limit for an env file` };
    const buffer = Buffer.alloc(st.size);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n <= 0) break;
      length += n;
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      return { ok: false, error: `${path}: is not UTF-8 text` };
    }
    const parsed = parseEnvFile(text);
    return parsed.ok ? { ok: true, entries: parsed.entries } : { ok: false, error: `${path}:${parsed.line}: ${parsed.message}` };
  } catch (e) {
    return { ok: false, error: `${path}: cannot read: ${(e as { code?: string }).code ?? String(e)}` };
  } finally {
    closeSync(fd);
  }
}
