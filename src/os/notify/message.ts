// One sd_notify datagram (sd_notify(3)): newline-separated KEY=VALUE assignments. pmtr acts
// on READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 and ignores the rest (MAINPID, BARRIER, ...),
// as systemd ignores what it does not know. Pure, so the protocol is unit-tested.

export interface NotifyMessage {
  readonly ready: boolean;
  readonly stopping: boolean;
  readonly watchdog: boolean;
  /** The last STATUS= in the datagram; null when it has none. Cut to STATUS_MAX_CHARS. */
  readonly status: string | null;
}

/** systemd shows STATUS= on one line of `systemctl status`; so does `pmtr status`. */
export const STATUS_MAX_CHARS = 200;

export function parseNotify(text: string): NotifyMessage {
  let ready = false;
  let stopping = false;
  let watchdog = false;
  let status: string | null = null;
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "READY" && value === "1") ready = true;
    else if (key === "STOPPING" && value === "1") stopping = true;
    else if (key === "WATCHDOG" && value === "1") watchdog = true;
    // Control characters would break the status table and the log line that quotes it.
    else if (key === "STATUS") status = value.replace(/[\p{Cc}\p{Cf}]/gu, " ").slice(0, STATUS_MAX_CHARS);
  }
  return { ready, stopping, watchdog, status };
}
