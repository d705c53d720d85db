// Errors as the operator reads them: `FILE:LINE: message`, sorted by line. The path is
// printed as given on the command line so that editors and grep can jump to it.

import type { ConfigError } from "./model.ts";

/** One line per error; line 0 (the file as a whole) prints as `FILE: message`. */
export function formatErrors(file: string, errors: readonly ConfigError[]): string[] {
  return errors.map((e) => (e.line > 0 ? `${file}:${e.line}: ${e.message}` : `${file}: ${e.message}`));
}

/**
 * Errors reported at most; a file with more is not a configuration with typos but the wrong
 * file (binary junk, 200 000 nested `job {`), and a reload must not flood syslog with it.
 */
export const MAX_ERRORS = 100;

/** Collects errors in the order found; `sorted()` orders them by line, stable within a line. */
export class ErrorList {
  private readonly list: ConfigError[] = [];

  add(line: number, message: string): void {
    this.list.push({ line, message });
  }

  get count(): number {
    return this.list.length;
  }

  /** By line, stable within a line; past MAX_ERRORS, one line (0: the whole file) says how many more. */
  sorted(): ConfigError[] {
    const all = this.list.map((e, i) => ({ e, i })).sort((a, b) => a.e.line - b.e.line || a.i - b.i).map(({ e }) => e);
    if (all.length <= MAX_ERRORS) return all;
    const more = all.length - MAX_ERRORS;
    return [...all.slice(0, MAX_ERRORS), { line: 0, message: `${more} more error${more === 1 ? "" : "s"} not shown (is this the right file?)` }];
  }
}
