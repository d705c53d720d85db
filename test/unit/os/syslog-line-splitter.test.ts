// Job output reassembled into lines across reads, bounded in length.

import { describe, expect, test } from "bun:test";
import { createLineSplitter } from "../../../src/os/log/line-splitter.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

function split(chunks: (string | Uint8Array)[], maxBytes?: number, end = true): string[] {
  const lines: string[] = [];
  const s = createLineSplitter((l) => lines.push(l), maxBytes);
  for (const c of chunks) s.push(typeof c === "string" ? bytes(c) : c);
  if (end) s.end();
  return lines;
}

describe("line splitter", () => {
  test("lines across reads, empty lines kept, CRLF trimmed", () => {
    expect(split(["hel", "lo\nwor", "ld\n\nthird\r\n"])).toEqual(["hello", "world", "", "third"]);
  });

  test("a last line without newline is passed on at the end, not before", () => {
    expect(split(["a\npartial"], undefined, false)).toEqual(["a"]);
    expect(split(["a\npartial"])).toEqual(["a", "partial"]);
  });

  test("a long line is passed on in pieces of at most maxBytes", () => {
    expect(split(["abcdefghij\n"], 4)).toEqual(["abcd", "efgh", "ij"]);
    expect(split(["abcd", "efgh", "\nx\n"], 4)).toEqual(["abcd", "efgh", "x"]); // no empty line after an exact fill
  });

  test("a character split across reads or pieces is not broken", () => {
    const e = bytes("é"); // 2 bytes
    expect(split([e.subarray(0, 1), e.subarray(1), "\n"])).toEqual(["é"]);
    const check = bytes("ab✓✓\n"); // ✓ is 3 bytes: a piece of 4 would end inside the first ✓
    expect(split([check], 4)).toEqual(["ab", "✓", "✓"]);
  });

  test("a newline-free flood never holds more than maxBytes", () => {
    const lines = split([new Uint8Array(10_000).fill(0x41)], 4096);
    expect(lines.map((l) => l.length)).toEqual([4096, 4096, 1808]);
  });
});
