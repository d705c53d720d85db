// Applying a file change only once the writer has finished with it (SPEC §6).

/** A save is applied once the file has been quiet this long: `echo > f` and a first write
 *  after re-creating a file truncate it before writing, and the empty file in between must
 *  not be applied (it would stop every job). A burst longer than SETTLE_MAX_MS is applied as
 *  it stands at that point and again when it ends. */
export const SETTLE_QUIET_MS = 15;
export const SETTLE_MAX_MS = 200;

/** `action`, run once events have stopped for SETTLE_QUIET_MS (or SETTLE_MAX_MS after the
 *  first of a burst). A timer exists only while events are arriving. */
export function settled(action: () => void): () => void {
  let timer: Timer | null = null;
  let firstAt = 0;
  const fire = () => {
    timer = null;
    action();
  };
  return () => {
    const now = performance.now();
    if (timer === null) firstAt = now;
    else clearTimeout(timer);
    timer = setTimeout(fire, Math.max(0, Math.min(SETTLE_QUIET_MS, firstAt + SETTLE_MAX_MS - now)));
  };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
