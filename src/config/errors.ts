// Errors as the operator reads them: `FILE:LINE: message`, sorted by line. The path is
// printed as given on the command line so that editors and grep can jump to it.

import type { ConfigError } from "./model.ts";

/** One line per error; line 0 (the file as a whole) prints as `FILE: message`. `file` is the
 *  main file's path; an error in an included file names that file. */
export function formatErrors(file: string, errors: readonly ConfigError[]): string[] {
  return errors.map((e) => {
    const where = e.file ?? file;
    return e.line > 0 ? `${where}:${e.line}: ${e.message}` : `${where}: ${e.message}`;
  });
}

/** The summary line that ends a rejected configuration (SPEC §7): upstream's `parse failed`
 *  wording, which existing scripts and log searches grep for. */
export function parseFailedLine(file: string, lines: readonly string[]): string {
  let count = lines.length;
  // The "N more errors not shown" line of capErrors stands for N errors.
  for (const line of lines) {
    const more = MORE.exec(line);
    if (more) count += Number(more[1]) - 1;
  }
  return `${file}: parse failed: ${count} error${count === 1 ? "" : "s"}`;
}

const MORE = /: (\d+) more errors? not shown \(is this the right file\?\)$/;

/**
 * Errors reported at most; a file with more is not a configuration with typos but the wrong
 * file (binary junk, 200 000 nested `job {`), and a reload must not flood syslog with it.
 */
export const MAX_ERRORS = 100;

/** Collects errors in the order found; `sorted()` orders them by line, stable within a line. */
export class ErrorList {
  private readonly list: ConfigError[] = [];

  /** `file`: the included file these errors are in; undefined for the main file. */
  constructor(private readonly file?: string) {}

  add(line: number, message: string): void {
    this.list.push(this.file === undefined ? { line, message } : { file: this.file, line, message });
  }

  get count(): number {
    return this.list.length;
  }

  /** By line, stable within a line; past MAX_ERRORS, one line (0: the whole file) says how many more. */
  sorted(): ConfigError[] {
    return capErrors(this.byLine());
  }

  /** A new list with the same errors, for adding more without changing this one. */
  copy(): ErrorList {
    const list = new ErrorList(this.file);
    list.list.push(...this.list);
    return list;
  }

  /** By line, stable within a line, all of them. */
  byLine(): ConfigError[] {
    return this.list.map((e, i) => ({ e, i })).sort((a, b) => a.e.line - b.e.line || a.i - b.i).map(({ e }) => e);
  }
}

/** At most MAX_ERRORS; past that, one line (0: the whole file) says how many more. */
export function capErrors(all: readonly ConfigError[]): ConfigError[] {
  if (all.length <= MAX_ERRORS) return [...all];
  const more = all.length - MAX_ERRORS;
  return [...all.slice(0, MAX_ERRORS), { line: 0, message: `${more} more error${more === 1 ? "" : "s"} not shown (is this the right file?)` }];
}
