// The format of an `env file` (SPEC §15), as systemd's EnvironmentFile= and Docker's --env-file
// users write them:
//
//   # comment                 blank lines and lines starting with # are skipped
//   NAME=value with spaces    the rest of the line, trailing blanks removed
//   export NAME=value         `export ` is allowed (files shared with shell scripts)
//   NAME='literal'            quotes hold the value exactly, spaces and # included; no escapes
//   NAME="literal"
//
// Pure; src/os/config/env-files.ts reads the file. Values may be secrets, so no message ever shows one
// (nor a malformed line, which may be a value that lost its name).

export type EnvFileResult =
  | { readonly ok: true; readonly entries: readonly string[] }
  | { readonly ok: false; readonly line: number; readonly message: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** "NAME=VALUE" entries in file order, or the first malformed line. */
export function parseEnvFile(text: string): EnvFileResult {
  const entries: string[] = [];
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const entry = parseLine((lines[i] ?? "").replace(/\r$/, ""));
    if (entry === null) continue;
    if (typeof entry === "object") return { ok: false, line: i + 1, message: entry.problem };
    entries.push(entry);
  }
  return { ok: true, entries };
}

/** The entry, null for a blank or comment line, or the problem. */
function parseLine(raw: string): string | null | { problem: string } {
  let s = raw.trimStart();
  if (s === "" || s.startsWith("#")) return null;
  if (/[\0-\x08\x0b-\x1f\x7f]/.test(s)) return { problem: "control character in the line (not a text file?)" };
  const exported = /^export[ \t]+/.exec(s);
  if (exported) s = s.slice(exported[0].length);
  const eq = s.indexOf("=");
  if (eq < 0) return { problem: "expected NAME=VALUE (the line has no =; it is not shown, as it may hold a secret)" };
  const name = s.slice(0, eq);
  if (!NAME.test(name)) {
    return { problem: "expected NAME=VALUE with NAME of letters, digits and _, not starting with a digit (the line is not shown, as it may hold a secret)" };
  }
  const value = unquote(s.slice(eq + 1).trimEnd());
  if (typeof value === "object") return { problem: `${name}: ${value.problem} (the value is not shown, as it may be a secret)` };
  return `${name}=${value}`;
}

function unquote(v: string): string | { problem: string } {
  const quote = v[0];
  if (quote !== "'" && quote !== '"') return v;
  const close = v.indexOf(quote, 1);
  if (close < 0) return { problem: `unterminated ${quote} quote (close it on the same line)` };
  if (close !== v.length - 1) return { problem: `text after the closing ${quote} quote` };
  return v.slice(1, close);
}
