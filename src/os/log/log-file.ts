// `-l FILE` (SPEC §13): pmtr's own messages, also appended to FILE, one line each as syslog
// would store them (`Mar  7 09:05:01 pmtr[PID]: message`), so the same searches work on both.
// Written synchronously, like stderr: a message is in the file before the next one is made,
// and a crash loses none. Reopened on SIGUSR1 / `pmtr reopen` after logrotate moved it.

import { closeSync, constants, openSync, writeSync } from "node:fs";
import type { LogLevel } from "../../core/ports.ts";
import { O_CLOEXEC, osError } from "../libc.ts";
import { sanitize, syslogTimestamp } from "./syslog.ts";

const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_CLOEXEC;

export interface LogFile {
  readonly path: string;
  /** `tag[pid]: message`, pmtr's own by default; a job's `out syslog` line when syslog is
   *  missing names the job instead. */
  write(level: LogLevel, message: string, tag?: string, pid?: number): void;
  /** Close and open FILE again at its path; returns the error text, or null. */
  reopen(): string | null;
  close(): void;
}

/** Opens `path` for appending (created 0644), or says why it cannot, naming the file. */
export function openLogFile(path: string, now: () => Date = () => new Date()): { ok: true; file: LogFile } | { ok: false; message: string } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS, 0o644);
  } catch (e) {
    return { ok: false, message: `cannot open log file ${path} (-l): ${osError(e)}` };
  }
  let current: number | null = fd;
  const file: LogFile = {
    path,
    write(_level, message, tag = "pmtr", pid = process.pid) {
      if (current === null) return;
      const stamp = `${syslogTimestamp(now())} ${tag}[${pid}]: `;
      const text = message.split("\n").filter((l) => l !== "").map((l) => `${stamp}${sanitize(l)}\n`).join("");
      try {
        writeSync(current, text);
      } catch {
        // A full disk must not stop pmtr; stderr or syslog still carry the message.
      }
    },
    reopen() {
      let next: number;
      try {
        next = openSync(path, OPEN_FLAGS, 0o644);
      } catch (e) {
        return `cannot reopen log file ${path}: ${osError(e)}`;
      }
      if (current !== null) closeSync(current);
      current = next;
      return null;
    },
    close() {
      if (current !== null) closeSync(current);
      current = null;
    },
  };
  return { ok: true, file };
}
