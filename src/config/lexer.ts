// Lines -> tokens. A statement is one line, so the lexer keeps lines apart and every token
// carries its line number for error messages.
//
// - `#` starts a comment only where a token could start (line start or after whitespace);
//   inside a word or quotes it is literal, so `cmd /bin/echo a#b "c # d"` keeps both.
// - `"..."` groups, with no escapes; quoted parts join the word they touch, shell-style, so
//   `env GREETING="hello world"` is one token `GREETING=hello world`, and `""` is an empty one.
// - CRLF files work: a carriage return counts as whitespace.
// - Other control characters (NUL, escape, ...) are refused per line: they cannot be passed
//   to execve and usually mean the file is not text at all.

import type { ErrorList } from "./errors.ts";

export interface Token {
  readonly text: string;
  readonly line: number;
  /** True when any part of the token was inside quotes: such a token is never a keyword. */
  readonly quoted: boolean;
}

/** The tokens of one non-empty line. */
export type Statement = readonly Token[];

const CONTROL = /[\x00-\x08\x0a-\x0c\x0e-\x1f\x7f]/;
const QUOTE = 34;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

export function lex(text: string, errors: ErrorList): Statement[] {
  const statements: Statement[] = [];
  // An invisible byte-order mark (some Windows editors write one) must not become part of
  // the first keyword; TextDecoder drops it when reading the file, this covers other callers.
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const tokens = lexLine(lines[i] ?? "", i + 1, errors);
    if (tokens.length > 0) statements.push(tokens);
  }
  return statements;
}

function lexLine(s: string, line: number, errors: ErrorList): Token[] {
  const bad = CONTROL.exec(s);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    errors.add(line, `control character U+${code} in the line (the configuration must be plain text)`);
    return [];
  }
  // Fast path for the common line without quotes: a native split is several times quicker
  // than the character loop below on a 1000-job file.
  if (!s.includes('"')) return plainTokens(s, line);
  const tokens: Token[] = [];
  const n = s.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    if (i >= n || s[i] === "#") return tokens;
    let text = "";
    let quoted = false;
    while (i < n && !isSpace(s.charCodeAt(i))) {
      if (s.charCodeAt(i) === QUOTE) {
        quoted = true;
        const close = s.indexOf('"', i + 1);
        if (close < 0) {
          const raw = s.length - i > 40 ? `${s.slice(i, i + 40)}...` : s.slice(i);
          errors.add(line, `unterminated quote: ${raw} (add the closing " on the same line)`);
          text += s.slice(i + 1);
          i = n;
          break;
        }
        text += s.slice(i + 1, close);
        i = close + 1;
      } else {
        let j = i;
        while (j < n && !isSpace(s.charCodeAt(j)) && s.charCodeAt(j) !== QUOTE) j++;
        text += s.slice(i, j);
        i = j;
      }
    }
    tokens.push({ text, line, quoted });
  }
}

const SPACES = /[ \t\r]+/;

function plainTokens(s: string, line: number): Token[] {
  const tokens: Token[] = [];
  for (const text of s.split(SPACES)) {
    if (text === "") continue;
    if (text.startsWith("#")) break;
    tokens.push({ text, line, quoted: false });
  }
  return tokens;
}
