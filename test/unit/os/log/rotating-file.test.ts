import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RotatingFile } from "../../../../src/os/log/rotating-file.ts";
import { tempDir } from "../../../helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");

/** Every file of a rotated set, oldest first. */
function allText(path: string, keep: number): string {
  let text = "";
  for (let n = keep; n >= 1; n--) text += read(`${path}.${n}`);
  return text + read(path);
}

describe("RotatingFile", () => {
  for (const maxBytes of [64, 1000, 4096]) {
    test(`at ${maxBytes} bytes: every line once, whole, in order, no file over SIZE`, () => {
      const path = join(tempDir(), "out.log");
      const keep = 400;
      const file = new RotatingFile(path, { maxBytes, keep }, null);
      const lines = Array.from({ length: maxBytes * 5 }, (_, i) => `line ${i} ${"x".repeat(i % 37)}\n`);
      // Fed in odd-sized pieces of whole lines, as a pump does.
      for (let i = 0; i < lines.length; i += 7) file.append(enc(lines.slice(i, i + 7).join("")));
      file.close();
      expect(allText(path, keep)).toBe(lines.join(""));
      for (let n = 1; existsSync(`${path}.${n}`); n++) {
        const text = read(`${path}.${n}`);
        expect(text.length).toBeLessThanOrEqual(maxBytes);
        expect(text.endsWith("\n")).toBe(true);
      }
    });
  }

  test("appendBoth (a line's start, then the rest): the same files as one append", () => {
    const path = join(tempDir(), "out.log");
    const file = new RotatingFile(path, { maxBytes: 300, keep: 100 }, null);
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${"x".repeat(i % 23)}\n`).join("");
    // Cut anywhere, as reads end: each piece's tail starts the next call's head.
    let head = new Uint8Array(0);
    for (let at = 0; at < lines.length; ) {
      const piece = enc(lines.slice(at, at + 37));
      at += 37;
      const nl = piece.lastIndexOf(10);
      if (nl < 0) {
        head = new Uint8Array([...head, ...piece]);
        continue;
      }
      file.appendBoth(head, piece.subarray(0, nl + 1));
      head = piece.slice(nl + 1);
    }
    file.close();
    expect(allText(path, 100)).toBe(lines);
    for (let n = 1; existsSync(`${path}.${n}`); n++) expect(read(`${path}.${n}`).length).toBeLessThanOrEqual(300);
  });

  test("keeps N files, dropping the oldest", () => {
    const path = join(tempDir(), "out.log");
    const file = new RotatingFile(path, { maxBytes: 10, keep: 2 }, null);
    for (let i = 0; i < 6; i++) file.append(enc(`${i}23456789\n`));
    file.close();
    expect(read(path)).toBe("523456789\n");
    expect(read(`${path}.1`)).toBe("423456789\n");
    expect(read(`${path}.2`)).toBe("323456789\n");
    expect(existsSync(`${path}.3`)).toBe(false);
  });

  test("a line longer than SIZE is written whole, in a file of its own", () => {
    const path = join(tempDir(), "out.log");
    const file = new RotatingFile(path, { maxBytes: 10, keep: 5 }, null);
    const long = `${"y".repeat(25)}\n`;
    file.append(enc("a\n"));
    file.append(enc(long.slice(0, 12)));
    file.append(enc(long.slice(12)));
    file.append(enc("b\n"));
    file.close();
    expect(read(`${path}.2`)).toBe("a\n");
    expect(read(`${path}.1`)).toBe(long);
    expect(read(path)).toBe("b\n");
  });

  test("appends to an existing file and counts its size", () => {
    const path = join(tempDir(), "out.log");
    writeFileSync(path, "12345678\n");
    const file = new RotatingFile(path, { maxBytes: 10, keep: 5 }, null);
    file.append(enc("abc\n"));
    file.close();
    expect(read(`${path}.1`)).toBe("12345678\n");
    expect(read(path)).toBe("abc\n");
  });

  test("reopen after a move writes a new file at the path", () => {
    const path = join(tempDir(), "out.log");
    const file = new RotatingFile(path, { maxBytes: 1000, keep: 5 }, null);
    file.append(enc("before\n"));
    renameSync(path, `${path}.moved`);
    file.append(enc("still old\n"));
    file.reopen();
    file.append(enc("after\n"));
    file.close();
    expect(read(`${path}.moved`)).toBe("before\nstill old\n");
    expect(read(path)).toBe("after\n");
  });

  test("an unwritable directory is an error naming how much was written", () => {
    const file = new RotatingFile("/nonexistent-dir/out.log", { maxBytes: 10, keep: 5 }, null);
    let caught: unknown;
    try {
      file.append(enc("x\n"));
    } catch (e) {
      caught = e;
    }
    expect((caught as { written: number }).written).toBe(0);
    expect(String((caught as Error).message)).toContain("ENOENT");
  });
});
