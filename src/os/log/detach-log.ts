// SPEC §13 "never nowhere": a background pmtr's stdio is /dev/null, so with no syslog socket to
// send to and no -l, every message it would log (a job that failed to start included) would be
// lost. Before detaching, the command picks a log file for it, says so on the terminal, and
// passes it on as -l: /var/log/pmtr.log as root, $XDG_STATE_HOME/pmtr.log (~/.local/state)
// for anyone else.

import { existsSync, mkdirSync } from "node:fs";
import type { Options } from "../../cli.ts";
import { DEFAULT_SYSLOG_PATH } from "./syslog.ts";

export const ROOT_LOG_FILE = "/var/log/pmtr.log";

export function defaultLogFile(uid: number, env: Readonly<Record<string, string | undefined>>): string {
  if (uid === 0) return ROOT_LOG_FILE;
  const state = env.XDG_STATE_HOME || `${env.HOME || "/tmp"}/.local/state`;
  return `${state}/pmtr.log`;
}

/** The arguments for the background pmtr: `args`, plus `-l FILE` when its messages would
 *  otherwise go nowhere; `say` tells the operator where they go. */
export function detachArgs(args: readonly string[], options: Options, say: (text: string) => void, syslogPath = DEFAULT_SYSLOG_PATH): string[] {
  if (options.logFile !== null || existsSync(syslogPath)) return [...args];
  const file = defaultLogFile(process.getuid?.() ?? 0, process.env);
  try {
    mkdirSync(file.slice(0, file.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  } catch {
    // the background pmtr says why it cannot open the file, and the command fails with it
  }
  say(`pmtr: no syslog at ${syslogPath}: pmtr's messages go to ${file} (choose another file with -l FILE)\n`);
  return [...args, "-l", file];
}
