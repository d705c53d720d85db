// pmtr's own log sink (SPEC §7) and the sink for jobs' `out syslog` / `err syslog` lines.
//
// Where each message goes:
// - under systemd with stderr connected to the journal (JOURNAL_STREAM names our stderr):
//   stderr only, as `<N>message`, so journald sets the priority and nothing is logged twice;
// - otherwise to syslog when its socket exists, and also to stderr as `pmtr[PID]: message`
//   in the foreground;
// - with no syslog socket (a container), or when syslog refuses a record: stderr, whatever
//   the mode. A message is never silently lost.
// Job lines go to syslog tagged `NAME[PID]` (journald's /dev/log included, so they carry the
// job's name there too); without syslog they go to stderr as `NAME[PID]: line`.

import { fstatSync } from "node:fs";
import type { LogLevel } from "../../core/ports.ts";
import { createLineSplitter, type LineSplitter } from "./line-splitter.ts";
import { createStderrWriter } from "./stderr-writer.ts";
import { DEFAULT_SYSLOG_PATH, SEVERITY, openSyslog, sanitize, type Syslog } from "./syslog.ts";

export interface Logger {
  /** True when messages reach syslog (or the journal), not only stderr. */
  readonly reachesSyslog: boolean;
  log(level: LogLevel, message: string): void;
  /** One line of a job's output (without its newline), for `out syslog` / `err syslog`:
   *  severity info for stdout, err for stderr. False when syslog did not take it (it went to
   *  stderr only, which in the background is /dev/null: the caller adds it to `-l FILE`). */
  jobLine(job: string, pid: number, stream: "out" | "err", line: string): boolean;
  /** Flush what syslog has not taken yet (see Syslog.close) and close; records that could not
   *  be delivered are counted on stderr. */
  close(): void;
}

export interface LoggerOptions {
  foreground: boolean;
  verbose: number;
  /** Default /dev/log. */
  syslogPath?: string;
  /** Default process.env; read for JOURNAL_STREAM. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default: write to fd 2, never blocking (src/os/log/stderr-writer.ts). */
  writeStderr?: (text: string) => void;
}

export function createLogger(opts: LoggerOptions): Logger {
  const env = opts.env ?? process.env;
  const journal = isJournalStream(env.JOURNAL_STREAM);
  // What stderr could not take is dropped and counted (fault 2 of issue 12); the count is said
  // in the same form as every other line, when stderr takes lines again.
  const stderr = opts.writeStderr ? null : createStderrWriter((n) => {
    const text = `${n} log lines dropped: stderr not keeping up`;
    return journal ? `<${SEVERITY.warning}>${text}\n` : `pmtr[${process.pid}]: ${text}\n`;
  });
  const writeStderr = opts.writeStderr ?? ((text: string) => stderr!.write(text));
  const syslog: Syslog | null = openSyslog(opts.syslogPath ?? DEFAULT_SYSLOG_PATH);

  const toStderr = (level: LogLevel, tag: string, pid: number, text: string) => {
    writeStderr(journal ? `<${SEVERITY[level]}>${text}\n` : `${tag}[${pid}]: ${text}\n`);
  };

  return {
    reachesSyslog: journal || syslog !== null,
    log(level, message) {
      if (level === "debug" && opts.verbose < 1) return;
      for (const raw of message.split("\n")) {
        if (raw === "") continue;
        const text = sanitize(raw);
        if (journal) {
          toStderr(level, "pmtr", process.pid, text);
          continue;
        }
        const sent = syslog ? syslog.send(level, "pmtr", process.pid, text) : "unavailable";
        if (opts.foreground || sent === "unavailable") toStderr(level, "pmtr", process.pid, text);
      }
    },
    jobLine(job, pid, stream, line) {
      const level: LogLevel = stream === "out" ? "info" : "err";
      const text = sanitize(line);
      const sent = syslog ? syslog.send(level, job, pid, text) : "unavailable";
      if (sent === "unavailable") toStderr(level, job, pid, text);
      return sent !== "unavailable";
    },
    close() {
      const lost = syslog?.close() ?? 0;
      // Said on stderr only: syslog is what did not take them.
      if (lost > 0) toStderr("warning", "pmtr", process.pid, `${lost} syslog record(s) not delivered: syslog at ${syslog!.path} did not accept them before pmtr exited`);
      stderr?.close();
    },
  };
}

/** For a job started with `out syslog` / `err syslog`: feed it each chunk read from the job's
 *  pipe and call end() at EOF; every complete line goes to logger.jobLine. Holds at most one
 *  partial line (MAX_LINE_BYTES), so the reader can always keep draining the pipe. */
export function jobOutputSink(logger: Logger, job: string, pid: number, stream: "out" | "err"): LineSplitter {
  return createLineSplitter((line) => logger.jobLine(job, pid, stream, line));
}

/** systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected to stdout/stderr. It is
 *  inherited by everything below, so it counts only when it names the stderr we really have
 *  (not after daemonizing onto /dev/null, not when a wrapper redirected stderr). */
export function isJournalStream(value: string | undefined, fd = 2): boolean {
  const m = value?.match(/^(\d+):(\d+)$/);
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}
