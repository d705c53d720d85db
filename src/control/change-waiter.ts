// Lets a request wait for the supervisor to act: each check runs after every job change the
// lead reports (changed()) and, as a safety net, on a short poll, until it yields or times out.

const POLL_MS = 50;

interface Waiter {
  readonly check: () => boolean;
  readonly deadlineMs: number;
  readonly done: (settled: boolean) => void;
}

export class ChangeWaiter {
  private readonly waiters = new Set<Waiter>();
  private poll: ReturnType<typeof setInterval> | null = null;

  /** Resolves true once `check()` holds, false at the deadline. */
  until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.waiters.add({ check, deadlineMs: Date.now() + timeoutMs, done: resolve });
      this.poll ??= setInterval(() => this.changed(), POLL_MS);
    });
  }

  changed(): void {
    const now = Date.now();
    for (const w of this.waiters) {
      const settled = w.check();
      if (settled || now >= w.deadlineMs) {
        this.waiters.delete(w);
        w.done(settled);
      }
    }
    if (this.waiters.size === 0 && this.poll !== null) {
      clearInterval(this.poll);
      this.poll = null;
    }
  }

  /** Shutdown: every pending request gets its answer now. */
  close(): void {
    for (const w of this.waiters) w.done(w.check());
    this.waiters.clear();
    if (this.poll !== null) clearInterval(this.poll);
    this.poll = null;
  }
}
