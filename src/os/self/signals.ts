// pmtr's signals (SPEC §5, §6, §11): SIGTERM/SIGINT/SIGQUIT shut down, SIGHUP rescans the
// configuration, SIGCHLD means an orphan may be waiting to be reaped, SIGUSR1 reopens pmtr's
// log files, and the signals in IGNORED are logged and ignored, so that no stray signal ends pmtr
// and orphans every job (`kill -USR1 <pmtr>`, a habitual logrotate postrotate line, used to).
// Handlers only record and wake the one loop that acts ("handlers record, the loop acts", as
// s6-svscan): a signal arriving in the middle of a reload or a stop sequence can then never run
// a second reload or stop concurrently, and a burst of SIGCHLDs or SIGHUPs collapses into one
// reap or one rescan.

import { ignoreSignal } from "../libc.ts";

/** What has arrived since the last take(). */
export interface SignalRecord {
  /** The number of the first shutdown signal (15, 2 or 3), for "exiting on signal 15". */
  readonly shutdown: number | null;
  readonly rescan: boolean;
  readonly reap: boolean;
  /** SIGUSR1: reopen the log files (the loop calls SignalInbox.reopen()). */
  readonly reopen: boolean;
  /** Names of ignored signals that arrived, each once, for `ignoring signal SIGUSR2`. */
  readonly ignored: readonly string[];
}

export interface SignalInbox {
  /** Returns what was recorded and clears it (the shutdown signal stays: it is not undone). */
  take(): SignalRecord;
  /** Adds something SIGUSR1 (and `pmtr reopen`) reopens: the log features register their files. */
  onReopen(hook: () => void): void;
  /** Runs every onReopen hook, in order; one that throws does not keep the others from running. */
  reopen(): Error[];
  /** Removes the handlers; the signals get their default dispositions back. */
  close(): void;
}

const SHUTDOWN = { SIGTERM: 15, SIGINT: 2, SIGQUIT: 3 } as const;

/** Caught, logged and ignored: their default action would end pmtr. */
export const IGNORED = ["SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGXCPU"] as const;

/** Signals Bun cannot catch: a `process.on` handler for them still lets them kill the process
 *  (measured on Bun 1.4), so they are set to SIG_IGN at start. SIGSTKFLT (16) and the real-time
 *  signals 34..64; 32 and 33 belong to glibc's threads, SIGPWR (30) to the JavaScript engine. */
export const SET_TO_IGNORE: readonly number[] = [16, ...Array.from({ length: 31 }, (_, i) => 34 + i)];

/** Installs the handlers; each calls `wake` after recording, so the loop runs soon. Returns the
 *  inbox and what could not be set to SIG_IGN (to be logged; pmtr runs on). */
export function installSignals(wake: () => void): SignalInbox & { readonly problems: readonly string[] } {
  const problems: string[] = [];
  for (const sig of SET_TO_IGNORE) {
    const error = ignoreSignal(sig);
    if (error !== null) problems.push(`cannot ignore signal ${sig}: ${error}`);
  }
  let shutdown: number | null = null;
  let rescan = false;
  let reap = false;
  let reopen = false;
  let ignored = new Set<string>();
  const hooks: Array<() => void> = [];
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ...Object.entries(SHUTDOWN).map(([name, number]): [NodeJS.Signals, () => void] => [name as NodeJS.Signals, () => {
      shutdown ??= number;
      wake();
    }]),
    ["SIGHUP", () => ((rescan = true), wake())],
    ["SIGCHLD", () => ((reap = true), wake())],
    ["SIGUSR1", () => ((reopen = true), wake())],
    ...IGNORED.map((name): [NodeJS.Signals, () => void] => [name, () => (ignored.add(name), wake())]),
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return {
    problems,
    take() {
      const record = { shutdown, rescan, reap, reopen, ignored: [...ignored] };
      rescan = false;
      reap = false;
      reopen = false;
      ignored = new Set();
      return record;
    },
    onReopen(hook) {
      hooks.push(hook);
    },
    reopen() {
      const errors: Error[] = [];
      for (const hook of hooks) {
        try {
          hook();
        } catch (e) {
          errors.push(e instanceof Error ? e : new Error(String(e)));
        }
      }
      return errors;
    },
    close() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}
