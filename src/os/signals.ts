// pmtr's signals: SIGTERM/SIGINT/SIGQUIT shut down, SIGHUP rescans the configuration, SIGCHLD
// means an orphan may be waiting to be reaped. Handlers only record and wake the one loop that
// acts ("handlers record, the loop acts", as s6-svscan): a signal arriving in the middle of a
// reload or a stop sequence can then never run a second reload or stop concurrently, and a
// burst of SIGCHLDs or SIGHUPs collapses into one reap or one rescan.

/** What has arrived since the last take(). */
export interface SignalRecord {
  /** The number of the first shutdown signal (15, 2 or 3), for "exiting on signal 15". */
  readonly shutdown: number | null;
  readonly rescan: boolean;
  readonly reap: boolean;
}

export interface SignalInbox {
  /** Returns what was recorded and clears it (the shutdown signal stays: it is not undone). */
  take(): SignalRecord;
  /** Removes the handlers; the signals get their default dispositions back. */
  close(): void;
}

const SHUTDOWN = { SIGTERM: 15, SIGINT: 2, SIGQUIT: 3 } as const;

/** Installs the handlers; each calls `wake` after recording, so the loop runs soon. */
export function installSignals(wake: () => void): SignalInbox {
  let shutdown: number | null = null;
  let rescan = false;
  let reap = false;
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ...Object.entries(SHUTDOWN).map(([name, number]): [NodeJS.Signals, () => void] => [name as NodeJS.Signals, () => {
      shutdown ??= number;
      wake();
    }]),
    ["SIGHUP", () => ((rescan = true), wake())],
    ["SIGCHLD", () => ((reap = true), wake())],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return {
    take() {
      const record = { shutdown, rescan, reap };
      rescan = false;
      reap = false;
      return record;
    },
    close() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}
