// Records to syslog over its datagram socket (/dev/log), formatted as glibc's syslog(3) does:
// RFC 3164 `<PRI>Mmm dd hh:mm:ss TAG[PID]: message`. pmtr's own messages use the tag "pmtr";
// a job's output lines use the job's name and pid, so `journalctl -t web` or `grep web\[`
// finds them. Nothing here throws or blocks: when syslog does not keep up, records wait in a
// bounded queue and the excess is dropped and counted, so a job that writes faster than
// syslog accepts cannot grow pmtr's memory.

import { existsSync } from "node:fs";
import type { LogLevel } from "../../core/ports.ts";
import { openDgram, type DgramSender } from "../unix-dgram.ts";
import { localTime } from "./local-time.ts";

export const DEFAULT_SYSLOG_PATH = "/dev/log";
/** LOG_DAEMON, for pmtr and its jobs alike. */
export const FACILITY_DAEMON = 3;
export const SEVERITY: Readonly<Record<LogLevel, number>> = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 };

/** A record longer than this is cut (syslog daemons cut at 1-8 KiB anyway). */
export const MAX_RECORD_BYTES = 8192;
/** Bounds of the queue of records waiting for a busy syslog. */
export const MAX_QUEUED_RECORDS = 1000;
export const MAX_QUEUED_BYTES = 1 << 20;
/** How often a busy syslog is retried. */
const RETRY_MS = 10;
/** How long close() waits, at exit, for a busy syslog to take the records still queued. Those
 *  are often a job's last words; a second is plenty for a live syslogd, and a stalled one
 *  delays pmtr's exit by no more. */
export const CLOSE_DRAIN_MS = 1000;

/** "sent" or "queued": syslog has it or will; "dropped": the queue was full or the record could
 *  not be sent; "unavailable": nobody listens on the socket (the caller should write it elsewhere). */
export type SendOutcome = "sent" | "queued" | "dropped" | "unavailable";

export interface Syslog {
  readonly path: string;
  /** Send one record as `tag[pid]`, severity from `level`, facility daemon. */
  send(level: LogLevel, tag: string, pid: number, message: string): SendOutcome;
  /** Records waiting for a busy syslog. */
  readonly queued: number;
  /** Records dropped since the last drop notice was sent. */
  readonly dropped: number;
  /** Give a busy syslog up to CLOSE_DRAIN_MS to take what is queued, then close the socket.
   *  Returns how many records never reached syslog (still queued, or dropped and not yet
   *  reported by a notice), so the caller can say so. */
  close(): number;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** glibc's timestamp, `%h %e %T` in local time: "Mar  7 09:05:01" (local-time.ts: not through
 *  Date's local-time methods, which would load ICU's time zones into pmtr). */
export function syslogTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const t = localTime(date.getTime());
  return `${MONTHS[t.month]} ${String(t.day).padStart(2, " ")} ${two(t.hour)}:${two(t.minute)}:${two(t.second)}`;
}

/** Control characters (C0, DEL, C1) become `\xNN`, so a job cannot forge records, move a
 *  terminal's cursor or split a record; tabs become one space. */
export function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => (c === "\t" ? " " : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

/** A tag is one word: whitespace, brackets and colons would make the record ambiguous. */
function sanitizeTag(tag: string): string {
  return sanitize(tag).replace(/[\s[\]:]/g, "_").slice(0, 64) || "-";
}

export function formatRecord(r: { level: LogLevel; tag: string; pid: number; message: string; date: Date }): string {
  const pri = FACILITY_DAEMON * 8 + SEVERITY[r.level];
  return `<${pri}>${syslogTimestamp(r.date)} ${sanitizeTag(r.tag)}[${r.pid}]: ${sanitize(r.message)}`;
}

const encoder = new TextEncoder();

/** Encode, cut at MAX_RECORD_BYTES on a character boundary. */
function encodeRecord(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  if (bytes.length <= MAX_RECORD_BYTES) return bytes;
  let end = MAX_RECORD_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // do not split a UTF-8 sequence
  return bytes.subarray(0, end);
}

/** A syslog sender on `path`, or null when no socket is there (a container without syslog).
 *  Decided once, at start: init systems start syslog before pmtr (the LSB script requires
 *  $syslog, journald's socket exists before any unit), and a syslogd that restarts later is
 *  found again because every send names the path. `now` is for tests. */
export function openSyslog(path: string = DEFAULT_SYSLOG_PATH, now: () => Date = () => new Date()): Syslog | null {
  if (!existsSync(path)) return null;
  const opened = openDgram(path);
  if (!opened.ok) return null;
  return new QueuedSyslog(path, opened.sender, now);
}

class QueuedSyslog implements Syslog {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private droppedCount = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly path: string, private readonly socket: DgramSender, private readonly now: () => Date) {}

  get queued(): number {
    return this.queue.length;
  }
  get dropped(): number {
    return this.droppedCount;
  }

  send(level: LogLevel, tag: string, pid: number, message: string): SendOutcome {
    const record = encodeRecord(formatRecord({ level, tag, pid, message, date: this.now() }));
    // Keep order: while anything waits, a new record waits behind it.
    if (this.queue.length === 0) {
      const result = this.socket.send(record);
      if (result === "sent") return "sent";
      if (result === "gone") return "unavailable";
      if (result === "failed") return this.drop();
    }
    return this.enqueue(record);
  }

  close(): number {
    // Blocking is right here and nowhere else: pmtr is exiting, there is nothing left to
    // supervise, and a record dropped now is dropped without a trace.
    const deadline = performance.now() + CLOSE_DRAIN_MS;
    while (this.flush() && performance.now() < deadline) Bun.sleepSync(RETRY_MS);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const lost = this.queue.length + this.droppedCount;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.droppedCount = 0;
    this.socket.close();
    return lost;
  }

  private enqueue(record: Uint8Array): SendOutcome {
    if (this.queue.length >= MAX_QUEUED_RECORDS || this.queuedBytes + record.length > MAX_QUEUED_BYTES) return this.drop();
    this.queue.push(record);
    this.queuedBytes += record.length;
    this.schedule();
    return "queued";
  }

  private drop(): SendOutcome {
    this.droppedCount++;
    this.schedule();
    return "dropped";
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, RETRY_MS);
    // A busy syslog must not keep pmtr alive at exit.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Send what is queued until syslog is busy again; then say how many records were lost.
   *  Returns true when syslog was busy with something left to send (a retry is scheduled). */
  private flush(): boolean {
    while (this.queue.length > 0) {
      const result = this.socket.send(this.queue[0]!);
      if (result === "busy") return this.retry();
      const record = this.queue.shift()!;
      this.queuedBytes -= record.length;
      if (result !== "sent") this.droppedCount++;
    }
    if (this.droppedCount > 0) {
      const notice = encodeRecord(formatRecord({
        level: "warning", tag: "pmtr", pid: process.pid, date: this.now(),
        message: `dropped ${this.droppedCount} syslog record(s): syslog at ${this.path} did not accept them fast enough`,
      }));
      const result = this.socket.send(notice);
      if (result === "busy") return this.retry();
      // A notice syslog did not take leaves the count standing: it is reported with the next
      // drop, or by close() on stderr, instead of vanishing.
      if (result === "sent") this.droppedCount = 0;
    }
    return false;
  }

  private retry(): true {
    this.schedule();
    return true;
  }
}
