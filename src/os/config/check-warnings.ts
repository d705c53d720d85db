// `pmtr -t` warnings (SPEC §15): what a valid file would still fail on at run time, checked
// against this machine now — unknown user, missing dir, cmd missing or not executable (as the
// job's user), a missing out/err directory, a missing env file. Warnings only: the exit status
// of -t is unchanged, since accounts and directories may well exist where the file is deployed.
// Each is `FILE:LINE: warning: job NAME: ...`, the line of the keyword concerned.

import { accessSync, constants, statSync, type Stats } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import type { Config, JobSpec } from "../../config/model.ts";
import { lookupUser, type User } from "../spawn/users.ts";

/** Outputs that are not files. */
const NOT_A_FILE = new Set(["/dev/null", "syslog", "console"]);

export function runtimeWarnings(config: Config): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  // 1000 jobs name a handful of users and directories: each looked up once (getpwnam reads
  // /etc/passwd every time).
  const users = new Map<string, User | null>();
  const lookup = (name: string) => {
    if (!users.has(name)) users.set(name, lookupUser(name));
    return users.get(name) ?? null;
  };
  const stats = new Map<string, Stats | null>();
  const statOnce = (path: string) => {
    if (!stats.has(path)) stats.set(path, stat(path));
    return stats.get(path) ?? null;
  };
  for (const job of config.jobs) {
    const at = (w: Warning) => job.source.lines?.[w.keyword] ?? job.source.line;
    for (const w of jobWarnings(job, lookup, statOnce).sort((x, y) => at(x) - at(y))) {
      // The instances of one definition share its lines: each warning once.
      const line = `${job.source.file}:${at(w)}: warning: job ${job.instance?.base ?? job.name}: ${w.message}`;
      if (!seen.has(line)) lines.push(line);
      seen.add(line);
    }
  }
  return lines;
}

interface Warning {
  readonly keyword: string;
  readonly message: string;
}

/** `stat`: cached per path (jobs share their dirs and programs: 1000 jobs, a few paths). */
function jobWarnings(job: JobSpec, lookup: (name: string) => User | null, stat: (path: string) => Stats | null): Warning[] {
  const out: Warning[] = [];
  let user: User | null = null;
  if (job.user !== null) {
    user = lookup(job.user);
    if (user === null) out.push({ keyword: "user", message: `user ${job.user} does not exist (the job will fail to start)` });
  }
  const dir = stat(job.dir);
  if (dir === null) out.push({ keyword: "dir", message: `dir ${job.dir} does not exist` });
  else if (!dir.isDirectory()) out.push({ keyword: "dir", message: `dir ${job.dir} is not a directory` });

  const program = job.argv[0] ?? "";
  const cmd = stat(program);
  if (cmd === null) out.push({ keyword: "cmd", message: `cmd ${program} does not exist` });
  else if (!cmd.isFile()) out.push({ keyword: "cmd", message: `cmd ${program} is not a regular file` });
  else if (!executable(program, cmd, job.user === null ? null : user)) {
    out.push({ keyword: "cmd", message: `cmd ${program} is not executable${job.user === null ? "" : ` by user ${job.user}`} (mode ${(cmd.mode & 0o7777).toString(8).padStart(4, "0")})` });
  }

  for (const key of ["out", "err"] as const) {
    const path = job[key];
    if (NOT_A_FILE.has(path)) continue;
    const parent = dirname(isAbsolute(path) ? path : join(job.dir, path));
    if (dir !== null || isAbsolute(path)) {
      const st = stat(parent);
      if (st === null || !st.isDirectory()) out.push({ keyword: key, message: `${key} directory ${parent} does not exist` });
    }
  }
  for (const file of job.envFiles) {
    if (stat(file) === null) out.push({ keyword: `env file ${file}`, message: `env file ${file} does not exist (the job will fail to start)` });
  }
  return out;
}

/** No exception for a missing path: building 1000 Error objects was most of the cost of the
 *  warnings for a 1000-job file whose programs are not installed. */
function stat(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** Whether `user` (null: pmtr's own user) may execute the file. For another user only the mode
 *  bits are known here, not its supplementary groups: a group execute bit is given the benefit
 *  of the doubt, so the warning is never wrong, only sometimes missing. */
function executable(path: string, st: Stats, user: User | null): boolean {
  if (user === null) {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  const mode = st.mode;
  if (user.uid === 0) return (mode & 0o111) !== 0;
  if (st.uid === user.uid) return (mode & 0o100) !== 0;
  return (mode & 0o011) !== 0;
}
