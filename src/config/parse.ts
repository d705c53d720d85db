// parseConfig: the text of a configuration file (and of the files it includes) -> a frozen
// Config, or every error in all of them. Pure: no I/O; src/os/config/config-file.ts reads the files,
// expands the `include` patterns and checks ownership, then calls parseFile and assemble.

import { assemble } from "./assemble.ts";
import { ErrorList } from "./errors.ts";
import { lex } from "./lexer.ts";
import type { ParseResult } from "./model.ts";
import { parseStatements, type Parsed } from "./parser.ts";

/** One file read on its own: what it says and what is wrong in it so far. */
export interface ParsedFile {
  readonly parsed: Parsed;
  readonly errors: ErrorList;
}

/** `included`: named by an `include` of the main file (errors then carry its path, and only
 *  job blocks are allowed). */
export function parseFile(text: string, file: string, included: boolean): ParsedFile {
  const errors = new ErrorList(included ? file : undefined);
  return { parsed: parseStatements(lex(text, errors), file, included, errors), errors };
}

/** The `include` patterns of a main file, for the caller to expand. */
export function includePatterns(main: ParsedFile): string[] {
  return main.parsed.includes.map((i) => i.pattern);
}

/** A configuration of one file (`file` is where jobs say they come from; "" when unknown). */
export function parseConfig(text: string, file = ""): ParseResult {
  return assemble(parseFile(text, file, false), []);
}
