// A cap on what others can make pmtr log. `listen on` is unauthenticated: any local user (or,
// on a non-loopback address, any host) can send datagrams as fast as the network carries them,
// and one datagram of 2000 bytes can name a thousand jobs that do not exist. Datagrams that
// change nothing are therefore logged in full only up to BURST per window; the rest are counted
// and summed up in one line when the window ends. Datagrams that act on a job are always logged.

import type { ControlLog } from "./target.ts";

export const IGNORED_BURST = 20;
export const IGNORED_WINDOW_MS = 60_000;

export interface IgnoredLogOptions {
  readonly log: ControlLog;
  /** Milliseconds, monotonic. */
  readonly now?: () => number;
  /** Runs `fire` after `ms`; returns a cancel function. */
  readonly setTimer?: (fire: () => void, ms: number) => () => void;
}

export class IgnoredLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private shown = 0;
  private suppressed = 0;
  private cancelTimer: (() => void) | null = null;
  private readonly now: () => number;
  private readonly setTimer: (fire: () => void, ms: number) => () => void;

  constructor(private readonly opts: IgnoredLogOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.setTimer = opts.setTimer ?? ((fire, ms) => {
      const t = setTimeout(fire, ms);
      t.unref();
      return () => clearTimeout(t);
    });
  }

  /** One ignored datagram: `lines` are logged if this window has room, else it is counted. */
  datagram(lines: ReadonlyArray<readonly [level: Parameters<ControlLog>[0], message: string]>): void {
    const now = this.now();
    if (now - this.windowStart >= IGNORED_WINDOW_MS) {
      this.flush();
      this.windowStart = now;
      this.shown = 0;
    }
    if (this.shown < IGNORED_BURST) {
      this.shown++;
      for (const [level, message] of lines) this.opts.log(level, message);
      return;
    }
    this.suppressed++;
    this.cancelTimer ??= this.setTimer(() => {
      this.cancelTimer = null;
      this.flush();
    }, this.windowStart + IGNORED_WINDOW_MS - now);
  }

  /** Says how many were not logged, if any (also at close, so none goes unmentioned). */
  flush(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.suppressed === 0) return;
    const n = this.suppressed;
    this.suppressed = 0;
    this.opts.log("warning", `${n} more ignored control ${n === 1 ? "datagram" : "datagrams"} not logged one by one (at most ${IGNORED_BURST} a minute are)`);
  }
}
