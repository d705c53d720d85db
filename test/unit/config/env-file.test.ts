// `env file` format (SPEC §15): comments, blank lines, export, quotes; malformed lines name
// their line and never show a value.

import { describe, expect, test } from "bun:test";
import { parseEnvFile } from "../../../src/config/env-file.ts";

function entries(text: string): readonly string[] {
  const r = parseEnvFile(text);
  if (!r.ok) throw new Error(`${r.line}: ${r.message}`);
  return r.entries;
}

describe("parseEnvFile", () => {
  test("plain, exported, quoted, comments and blank lines, in order", () => {
    const text = [
      "# database", "", "DB_HOST=127.0.0.1", "   ", "export DB_PORT=5432", "  # indented comment", "GREETING=hello world  ",
      "SINGLE='a b # not a comment'", 'DOUBLE="x=y \'z\'"', "EMPTY=", "EMPTY_QUOTED=''", "HASH=a#b", "export\tTABBED=1", "CRLF=yes\r",
    ].join("\n");
    expect(entries(text)).toEqual([
      "DB_HOST=127.0.0.1", "DB_PORT=5432", "GREETING=hello world", "SINGLE=a b # not a comment", "DOUBLE=x=y 'z'", "EMPTY=",
      "EMPTY_QUOTED=", "HASH=a#b", "TABBED=1", "CRLF=yes",
    ]);
  });

  test("an empty file and a file of comments are valid", () => {
    expect(entries("")).toEqual([]);
    expect(entries("# nothing\n\n")).toEqual([]);
  });

  test("a later setting of a name stays after the earlier one (the later wins when applied)", () => {
    expect(entries("A=1\nA=2\n")).toEqual(["A=1", "A=2"]);
  });

  test("a variable named export is still a variable", () => {
    expect(entries("export=1\n")).toEqual(["export=1"]);
  });

  test.each([
    ["no =", "A=1\nsecret-value-without-name\n", 2, "expected NAME=VALUE (the line has no =; it is not shown, as it may hold a secret)"],
    ["bad name", "1A=x\n", 1, "expected NAME=VALUE with NAME of letters, digits and _, not starting with a digit (the line is not shown, as it may hold a secret)"],
    ["space before =", "A =x\n", 1, "expected NAME=VALUE with NAME of letters, digits and _, not starting with a digit (the line is not shown, as it may hold a secret)"],
    ["unterminated quote", "\n\nTOKEN='s3cret\n", 3, "TOKEN: unterminated ' quote (close it on the same line) (the value is not shown, as it may be a secret)"],
    ["text after the quote", 'TOKEN="s3cret" more\n', 1, 'TOKEN: text after the closing " quote (the value is not shown, as it may be a secret)'],
    ["control character", "A=\x01\n", 1, "control character in the line (not a text file?)"],
  ])("%s: the line and the problem, no value", (_what, text, line, message) => {
    const r = parseEnvFile(text);
    expect(r).toEqual({ ok: false, line, message });
    if (!r.ok) expect(r.message).not.toContain("s3cret");
  });
});
