// Reads one captured stream of one run of a job (the read end of its pipe) and hands whole
// lines to a sink: a rotated file or the console. Reading waits for the sink: while the sink
// cannot take more (a full disk, a console nobody reads), nothing more is read, the pipe fills
// and the job's own write(2) blocks. That is the backpressure SPEC §13 asks for: the job is
// slowed, never a line dropped, and pmtr holds at most one chunk plus one partial line.
//
// Whole lines only: a run's partial last line is kept until its newline (or end-of-file), so
// two pumps feeding the same file (the previous run's leftover children still writing while
// the new run starts) interleave by lines, never inside one.

import { closeSync } from "node:fs";

const NEWLINE = 0x0a;
/** The longest partial line kept back; beyond it the bytes are passed on as they are (the line
 *  stays whole in a rotated file, which never rotates mid-line). */
export const MAX_PARTIAL_BYTES = 1 << 20;

export interface LineSink {
  /** Whole lines, each ending in a newline: `head` then `lines`, as one (head is the start of
   *  the first line, kept from the previous read; often empty). Two arrays rather than one so
   *  that the common case copies nothing: at hundreds of MB/s a copy per read doubled what
   *  pmtr allocates. May throw an error with `written` (bytes of head + lines taken) or
   *  reject: the pump reports it through onStall and offers the rest again later. */
  write(head: Uint8Array, lines: Uint8Array): void | Promise<void>;
}

export interface PumpOptions {
  readonly sink: LineSink;
  /** The sink failed (`error`) and the pump waits `retryMs` before offering the bytes again;
   *  called once per stall, with null when the sink took the bytes after all. */
  readonly onStall: (error: unknown | null) => void;
  readonly retryMs?: number;
}

/** Pumps `readFd` until end-of-file (every writer closed: the run and anything it left behind)
 *  and closes it. Resolves when all of it has reached the sink. */
export async function pumpOutput(readFd: number, opts: PumpOptions): Promise<void> {
  const retryMs = opts.retryMs ?? 1000;
  let partial: Uint8Array = EMPTY;
  let stalled = false;
  const deliver = async (head: Uint8Array, lines: Uint8Array) => {
    for (;;) {
      try {
        await opts.sink.write(head, lines);
        if (stalled) opts.onStall(null);
        stalled = false;
        return;
      } catch (e) {
        const written = (e as { written?: number }).written ?? 0;
        lines = concat(head, lines).subarray(written); // rare: only after a failed write
        head = EMPTY;
        if (!stalled) opts.onStall(e);
        stalled = true;
        await Bun.sleep(retryMs);
      }
    }
  };
  try {
    for await (const chunk of Bun.file(readFd).stream()) {
      const nl = chunk.lastIndexOf(NEWLINE);
      if (nl < 0) {
        partial = concat(partial, chunk);
        if (partial.length >= MAX_PARTIAL_BYTES) {
          await deliver(EMPTY, partial);
          partial = EMPTY;
        }
        continue;
      }
      const head = partial;
      // Copied: the stream may reuse its chunk once we await.
      partial = nl + 1 < chunk.length ? chunk.slice(nl + 1) : EMPTY;
      await deliver(head, chunk.subarray(0, nl + 1));
    }
  } catch {
    // A read error ends the output like end-of-file: the run's exit is reported by its own path.
  } finally {
    closeQuietly(readFd);
  }
  // The last line had no newline: it is given one, so the next run's first line starts clean.
  if (partial.length > 0) await deliver(partial, new Uint8Array([NEWLINE]));
}

const EMPTY = new Uint8Array(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}
