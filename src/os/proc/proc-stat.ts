// The one reader of /proc/PID/stat. Its second field, the command name, may hold spaces and
// parentheses (a process can name itself "a) R 1 (b"), so the fields are those after the last
// ')'; every user of the file reads them through here rather than splitting it again.

import { readFileSync } from "node:fs";

/** The fields after the command name: index 0 is field 3 (state), 1 the parent, 2 the process
 *  group, 11-12 utime/stime, 19 the start time, 21 the RSS in pages; null for a garbled text. */
export function statFields(text: string): string[] | null {
  const close = text.lastIndexOf(")");
  return close < 0 ? null : text.slice(close + 2).split(" ");
}

/** statFields of process `pid`, or null when there is no such process (or it cannot be read). */
export function readStatFields(pid: number | string): string[] | null {
  try {
    return statFields(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return null;
  }
}
