import { describe, expect, test } from "bun:test";
import { ErrorList } from "../../../src/config/errors.ts";
import { lex } from "../../../src/config/lexer.ts";

function words(text: string): string[][] {
  const errors = new ErrorList();
  const statements = lex(text, errors);
  expect(errors.sorted()).toEqual([]);
  return statements.map((s) => s.map((t) => t.text));
}

describe("lex", () => {
  test.each([
    ["plain words", "cmd /bin/echo a b", [["cmd", "/bin/echo", "a", "b"]]],
    ["tabs and runs of spaces", "\tcmd \t /bin/echo   a", [["cmd", "/bin/echo", "a"]]],
    ["quotes group one word", 'cmd /bin/echo "two words" x', [["cmd", "/bin/echo", "two words", "x"]]],
    ['"" is an empty word', 'cmd /bin/echo "" x', [["cmd", "/bin/echo", "", "x"]]],
    ["quotes join the word they touch", 'env GREETING="hello world"', [["env", "GREETING=hello world"]]],
    ["quoted parts in the middle", 'a"b c"d', [["ab cd"]]],
    ["comment line", "# all of this\n  # and this", []],
    ["comment after whitespace", "cmd /bin/echo a # not b", [["cmd", "/bin/echo", "a"]]],
    ["# inside a word is literal", "cmd /bin/echo a#b", [["cmd", "/bin/echo", "a#b"]]],
    ["# inside quotes is literal", 'cmd /bin/echo "a # b"', [["cmd", "/bin/echo", "a # b"]]],
    ["blank lines are skipped", "\n\n  \n\t\nx\n\n", [["x"]]],
    ["CRLF line ends", "job {\r\n  name a\r\n}\r\n", [["job", "{"], ["name", "a"], ["}"]]],
    ["a lone CR is whitespace", "a\rb", [["a", "b"]]],
    ["non-ASCII is literal", "name café", [["name", "café"]]],
  ])("%s", (_what, text, expected) => {
    expect(words(text)).toEqual(expected);
  });

  test("every token carries its line", () => {
    const statements = lex("\n# c\njob {\n\n  name a\n}", new ErrorList());
    expect(statements.map((s) => s.map((t) => t.line))).toEqual([[3, 3], [5, 5], [6]]);
  });

  test("quoted tokens are marked, so they are never keywords", () => {
    const [statement] = lex('"job" {', new ErrorList());
    expect(statement?.map((t) => t.quoted)).toEqual([true, false]);
  });

  test.each([
    ["unterminated quote", 'job {\ncmd /bin/echo "abc', 2, 'unterminated quote: "abc (add the closing " on the same line)'],
    ["NUL", "job {\nname a\0b\n}", 2, "control character U+0000 in the line (the configuration must be plain text)"],
    ["escape", "\x1b[31m", 1, "control character U+001B in the line (the configuration must be plain text)"],
    ["DEL", "a\x7f", 1, "control character U+007F in the line (the configuration must be plain text)"],
  ])("%s is an error on its line", (_what, text, line, message) => {
    const errors = new ErrorList();
    lex(text, errors);
    expect(errors.sorted()).toEqual([{ line, message }]);
  });

  test("an unterminated quote still yields the rest of the line as one word", () => {
    const [statement] = lex('cmd /bin/echo "a b', new ErrorList());
    expect(statement?.map((t) => t.text)).toEqual(["cmd", "/bin/echo", "a b"]);
  });
});
