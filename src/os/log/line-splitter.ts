// Reassembles a job's output into lines across reads, for `out syslog` / `err syslog`. A pipe
// read can end anywhere, mid-line or mid-character, so bytes are kept until their newline.
// The partial line is bounded: a line longer than `maxBytes` is passed on in pieces, so a job
// that never writes a newline cannot grow pmtr's memory.

/** Longest line passed on whole; longer ones are cut into pieces of this size. */
export const MAX_LINE_BYTES = 4096;

export interface LineSplitter {
  /** Feed the bytes of one read. */
  push(chunk: Uint8Array): void;
  /** End of output: pass on a last line that had no newline. */
  end(): void;
}

export function createLineSplitter(onLine: (line: string) => void, maxBytes = MAX_LINE_BYTES): LineSplitter {
  const partial = new Uint8Array(maxBytes);
  let used = 0;
  /** The line in progress has had pieces passed on already: its newline must not add an empty line. */
  let continued = false;
  const decoder = new TextDecoder("utf-8", { fatal: false });

  const emit = (bytes: Uint8Array, atNewline = false) => {
    let end = bytes.length;
    if (atNewline && end > 0 && bytes[end - 1] === 0x0d) end--; // CRLF output: the CR is not part of the line
    onLine(decoder.decode(bytes.subarray(0, end)));
  };

  /** Pass on a full buffer, less a trailing incomplete UTF-8 character, which starts the next piece. */
  const emitPiece = () => {
    const cut = completeUpTo(partial, used);
    emit(partial.subarray(0, cut));
    partial.copyWithin(0, cut, used);
    used -= cut;
    continued = true;
  };

  return {
    push(chunk) {
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        const stop = nl < 0 ? chunk.length : nl;
        // Copy this stretch into the partial line, passing on full pieces as they fill.
        let from = start;
        while (from < stop) {
          const n = Math.min(stop - from, maxBytes - used);
          partial.set(chunk.subarray(from, from + n), used);
          used += n;
          from += n;
          if (used === maxBytes) emitPiece();
        }
        if (nl < 0) break;
        if (used > 0 || !continued) emit(partial.subarray(0, used), true);
        used = 0;
        continued = false;
        start = nl + 1;
      }
    },
    end() {
      if (used > 0) emit(partial.subarray(0, used));
      used = 0;
      continued = false;
    },
  };
}

/** The length of `bytes[0, used)` without a UTF-8 character cut off at its end. */
function completeUpTo(bytes: Uint8Array, used: number): number {
  let i = used;
  while (i > 0 && used - i < 3 && (bytes[i - 1]! & 0xc0) === 0x80) i--;
  const lead = i > 0 ? bytes[i - 1]! : 0;
  if (lead < 0xc0) return used;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  const cut = i - 1;
  return used - cut < length && cut > 0 ? cut : used;
}
