// Reads one captured stream of one run of a job (the read end of its pipe) and hands whole
// lines to a sink: a rotated file or the console. Reading waits for the sink: while the sink
// cannot take more (a full disk, a console nobody reads), nothing more is read, the pipe fills
// and the job's own write(2) blocks. That is the backpressure SPEC §13 asks for: the job is
// slowed, never a line dropped, and pmtr holds at most one chunk plus one partial line.
//
// Whole lines only: a run's partial last line is kept until its newline (or end-of-file), so
// two pumps feeding the same file (the previous run's leftover children still writing while
// the new run starts) interleave by lines, never inside one.

import { closeQuietly } from "../files.ts";
import { readBuffer, watchFd, type WatchedFd } from "./reader.ts";

const NEWLINE = 0x0a;
/** Bytes read from one pipe before the pump lets timers, the control socket and the other
 *  pumps have a turn (a job writing flat out always has more). */
const TURN_BYTES = 1 << 20;
/** The longest partial line kept back; beyond it the bytes are passed on as they are (the line
 *  stays whole in a rotated file, which never rotates mid-line). */
export const MAX_PARTIAL_BYTES = 1 << 20;

export interface LineSink {
  /** Whole lines, each ending in a newline: `head` then `lines`, as one (head is the start of
   *  the first line, kept from the previous read; often empty). Two arrays rather than one so
   *  that the common case copies nothing: at hundreds of MB/s a copy per read doubled what
   *  pmtr allocates. Both may be views of pmtr's one reused read buffer (reader.ts), so
   *  write takes the bytes (writes or copies them) before it returns: a promise it returns
   *  only delays the next read, and never rejects. May throw an error with `written` (bytes
   *  of head + lines taken): the pump reports it through onStall and offers the rest again
   *  later. */
  write(head: Uint8Array, lines: Uint8Array): void | Promise<void>;
}

export interface PumpOptions {
  readonly sink: LineSink;
  /** The sink failed (`error`) and the pump waits `retryMs` before offering the bytes again;
   *  called once per stall, with null when the sink took the bytes after all. */
  readonly onStall: (error: unknown | null) => void;
  readonly retryMs?: number;
  /** The reader thread could not be started (reader.ts): the pump reads with Bun's stream. */
  readonly onReaderFallback?: (reason: string) => void;
}

/** Pumps `readFd` until end-of-file (every writer closed: the run and anything it left behind)
 *  and closes it. Resolves when all of it has reached the sink. */
export async function pumpOutput(readFd: number, opts: PumpOptions): Promise<void> {
  const retryMs = opts.retryMs ?? 1000;
  let partial: Uint8Array = EMPTY;
  let stalled = false;
  const resumed = () => {
    if (stalled) opts.onStall(null);
    stalled = false;
  };
  /** The sink failed: the rest (copied, the buffer is reused) is offered again every retryMs. */
  const retry = async (error: unknown, head: Uint8Array, lines: Uint8Array) => {
    for (;;) {
      const written = (error as { written?: number }).written ?? 0;
      lines = concat(head, lines).subarray(written); // rare: only after a failed write
      head = EMPTY;
      if (!stalled) opts.onStall(error);
      stalled = true;
      await Bun.sleep(retryMs);
      try {
        await opts.sink.write(head, lines);
        return resumed();
      } catch (e) {
        error = e;
      }
    }
  };
  /** Synchronous while the sink is (a file, a console that keeps up): no promise per chunk,
   *  which at hundreds of MB/s would be garbage of its own. */
  const deliver = (head: Uint8Array, lines: Uint8Array): void | Promise<void> => {
    let taken: void | Promise<void>;
    try {
      taken = opts.sink.write(head, lines);
    } catch (e) {
      return retry(e, head, lines);
    }
    if (taken !== undefined) return taken.then(resumed);
    resumed();
  };
  const take = (chunk: Uint8Array): void | Promise<void> => {
    const nl = chunk.lastIndexOf(NEWLINE);
    if (nl < 0) {
      partial = concat(partial, chunk);
      if (partial.length < MAX_PARTIAL_BYTES) return;
      const whole = partial;
      partial = EMPTY;
      return deliver(EMPTY, whole);
    }
    const head = partial;
    // Copied: the chunk is the reused read buffer, overwritten by the next read.
    partial = nl + 1 < chunk.length ? chunk.slice(nl + 1) : EMPTY;
    return deliver(head, chunk.subarray(0, nl + 1));
  };
  let watched: WatchedFd | null = null;
  try {
    watched = watchFd(readFd);
  } catch (e) {
    // No reader thread (it could not be compiled or started, e.g. at a task limit): Bun's
    // stream does the same job, only with a fresh buffer per read, so more garbage.
    opts.onReaderFallback?.(e instanceof Error ? e.message : String(e));
  }
  try {
    if (watched !== null) await pumpWatched(watched, take);
    else for await (const chunk of Bun.file(readFd).stream()) await take(chunk);
  } catch {
    // A read error ends the output like end-of-file: the run's exit is reported by its own path.
  } finally {
    if (watched !== null) watched.close();
    else closeQuietly(readFd);
  }
  // The last line had no newline: it is given one, so the next run's first line starts clean.
  if (partial.length > 0) await deliver(partial, new Uint8Array([NEWLINE]));
}

/** Reads `watched` into the shared buffer until end-of-file, each chunk to `take` (and, when
 *  that returns a promise, no further read until it settles: the backpressure). */
async function pumpWatched(watched: WatchedFd, take: (chunk: Uint8Array) => void | Promise<void>): Promise<void> {
  const buffer = readBuffer();
  let turnBytes = 0;
  for (;;) {
    const n = watched.read();
    if (n === 0) return;
    if (n < 0) {
      turnBytes = 0;
      await watched.readable();
      continue;
    }
    const pending = take(buffer.subarray(0, n));
    if (pending !== undefined) await pending;
    turnBytes += n;
    if (turnBytes >= TURN_BYTES) {
      turnBytes = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

const EMPTY = new Uint8Array(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

