// The last lines of a job's output file for `pmtr logs` (SPEC §13): read backwards from the
// end in blocks, and from F.1, F.2 ... of a rotated set when F alone has fewer lines.

import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";

const READ_BYTES = 64 * 1024;

/** A file `pmtr logs -f` already holds open, and the point it will follow from. */
export interface OpenedAt {
  readonly fd: number | null;
  offset: number;
}

/** The last `n` lines of `path`, taking earlier lines from `path.1`, `path.2` ... (a rotated
 *  set) when the file itself has fewer; null when `path` cannot be read. */
export function lastLines(path: string, n: number, opened?: OpenedAt): string | null {
  if (n === 0) return existsSync(path) ? "" : null;
  if (opened?.fd != null) opened.offset = lineStart(opened.fd, opened.offset); // a partial last line is followed whole
  let text = opened?.fd != null ? tailOfFd(opened.fd, opened.offset, n) : tailText(path, n);
  if (text === null) return null;
  for (let k = 1; countLines(text) < n; k++) {
    const before = tailText(`${path}.${k}`, n - countLines(text));
    if (before === null) break;
    text = before + text;
  }
  return text;
}

/** The last `n` lines of one file (reading backwards in blocks), or null. */
function tailText(path: string, n: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    return tailOfFd(fd, fstatSync(fd).size, n);
  } finally {
    closeSync(fd);
  }
}

/** The last `n` lines of the first `size` bytes of an open file. */
function tailOfFd(fd: number, size: number, n: number): string {
  let start = size;
  let chunks: Buffer[] = [];
  let newlines = 0;
  // One more newline than lines wanted, not counting a final newline that ends the last line.
  while (start > 0) {
    const len = Math.min(READ_BYTES, start);
    start -= len;
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, start);
    chunks = [buf, ...chunks];
    newlines += countNewlines(buf);
    if (newlines > n) break;
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const lines = text.split("\n");
  const endsWithNewline = text.endsWith("\n");
  if (endsWithNewline) lines.pop();
  const kept = lines.slice(Math.max(0, lines.length - n));
  return kept.length === 0 ? "" : `${kept.join("\n")}\n`;
}

/** Where the line that `size` falls in starts: just after the last newline before it. */
function lineStart(fd: number, size: number): number {
  for (let end = size; end > 0; ) {
    const len = Math.min(READ_BYTES, end);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, end - len);
    const nl = buf.lastIndexOf(10);
    if (nl >= 0) return end - len + nl + 1;
    end -= len;
  }
  return 0;
}

function countNewlines(buf: Uint8Array): number {
  let count = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) count++;
  return count;
}

function countLines(text: string): number {
  return text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}
