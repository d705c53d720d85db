// systemd's readiness protocol (sd_notify(3)) for pmtr itself, under `Type=notify`: one
// datagram of `KEY=VALUE` lines to $NOTIFY_SOCKET per state change. Without NOTIFY_SOCKET
// every call does nothing, so callers never need to ask whether they run under systemd.

import { libc } from "../libc.ts";
import { openDgram, type DgramSender } from "../unix-dgram.ts";

export interface Notifier {
  /** True when NOTIFY_SOCKET named a usable socket. */
  readonly enabled: boolean;
  /** Why NOTIFY_SOCKET was not usable (for pmtr to log once), or null. */
  readonly problem: string | null;
  /** How often to call watchdog(), from WATCHDOG_USEC; null when no watchdog is asked for. */
  readonly watchdogMs: number | null;
  /** The initial jobs are started (after any `wait` jobs), or a reload has been applied. */
  ready(status?: string): void;
  /** A reload is being applied; follow with ready(). */
  reloading(): void;
  /** pmtr is shutting down. */
  stopping(status?: string): void;
  /** A one-line summary for `systemctl status`, e.g. "12 jobs running". */
  status(text: string): void;
  /** Tell the watchdog pmtr is alive. */
  watchdog(): void;
  /** Ask systemd for `ms` more before it times the current start or stop out
   *  (EXTEND_TIMEOUT_USEC): a long chain of dependants stopping one after another may take
   *  longer than the unit's TimeoutStopSec. */
  extendTimeout(ms: number): void;
  close(): void;
}

const NOTIFY_VARIABLES = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] as const;

/** A notifier from `env` (default process.env). With `unsetEnvironment` (the default) the
 *  NOTIFY_SOCKET and WATCHDOG_* variables are removed from `env` once read, as
 *  sd_notify(unset_environment=1) does, so jobs started with pmtr's environment cannot speak
 *  for pmtr or inherit its watchdog. */
export function createNotifier(
  env: Record<string, string | undefined> = process.env,
  opts: { unsetEnvironment?: boolean; pid?: number } = {},
): Notifier {
  const address = env.NOTIFY_SOCKET;
  const watchdogMs = watchdogIntervalMs(env, opts.pid ?? process.pid);
  if (opts.unsetEnvironment ?? true) for (const name of NOTIFY_VARIABLES) delete env[name];

  if (address === undefined || address === "") return disabled(null, null);
  if (!address.startsWith("/") && !address.startsWith("@")) {
    return disabled(`NOTIFY_SOCKET="${address}" is not a socket path or @abstract name; not notifying systemd`, null);
  }
  const opened = openDgram(address);
  if (!opened.ok) return disabled(`NOTIFY_SOCKET: ${opened.message}; not notifying systemd`, null);
  return enabledNotifier(opened.sender, watchdogMs);
}

/** The watchdog ping interval: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, when
 *  WATCHDOG_USEC is a positive number and WATCHDOG_PID, if set, is `pid`. */
export function watchdogIntervalMs(env: Readonly<Record<string, string | undefined>> = process.env, pid = process.pid): number | null {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) === 0) return null;
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && forPid !== String(pid)) return null;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

/** The lines of one message: STATUS is one line, so newlines and other controls become spaces. */
export function notifyMessage(fields: Readonly<Record<string, string>>): string {
  // eslint-disable-next-line no-control-regex
  return Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/[\x00-\x1f\x7f]/g, " ")}\n`).join("");
}

function enabledNotifier(socket: DgramSender, watchdogMs: number | null): Notifier {
  const encoder = new TextEncoder();
  // Failures are ignored on purpose: systemd gone or busy must not affect supervision, and
  // a readiness message that cannot be delivered has no one to be reported to.
  const send = (fields: Record<string, string>) => void socket.send(encoder.encode(notifyMessage(fields)));
  const withStatus = (fields: Record<string, string>, status?: string) => (status === undefined ? fields : { ...fields, STATUS: status });
  return {
    enabled: true,
    problem: null,
    watchdogMs,
    ready: (status) => send(withStatus({ READY: "1" }, status)),
    // MONOTONIC_USEC lets Type=notify-reload (systemd 253+) match this to its SIGHUP.
    reloading: () => send({ RELOADING: "1", MONOTONIC_USEC: String(monotonicUsec()) }),
    stopping: (status) => send(withStatus({ STOPPING: "1" }, status)),
    status: (text) => send({ STATUS: text }),
    watchdog: () => send({ WATCHDOG: "1" }),
    extendTimeout: (ms) => send({ EXTEND_TIMEOUT_USEC: String(Math.max(0, Math.ceil(ms)) * 1000) }),
    close: () => socket.close(),
  };
}

function disabled(problem: string | null, watchdogMs: number | null): Notifier {
  const nothing = () => {};
  return { enabled: false, problem, watchdogMs, ready: nothing, reloading: nothing, stopping: nothing, status: nothing, watchdog: nothing, extendTimeout: nothing, close: nothing };
}

/** CLOCK_MONOTONIC in microseconds, the clock systemd compares with. */
export function monotonicUsec(): bigint {
  try {
    const ts = new Uint8Array(16);
    if (libc().clock_gettime(1, ts) !== 0) return 0n;
    const view = new DataView(ts.buffer);
    return view.getBigInt64(0, true) * 1_000_000n + view.getBigInt64(8, true) / 1000n;
  } catch {
    return 0n;
  }
}
