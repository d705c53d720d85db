// Linux signal names and numbers, pure: for `stop signal` in the configuration and for
// `pmtr signal SIG NAME...`, so the command line can check the name before any socket is opened.

const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
};

/** `HUP`, `sighup`, `SIGHUP` or `1` -> "SIGHUP"; null when it names no signal. */
export function parseSignal(text: string): string | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return Object.keys(SIGNALS).find((name) => SIGNALS[name] === n) ?? null;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  return Object.hasOwn(SIGNALS, name) ? name : null;
}
