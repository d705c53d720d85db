// parseConfig: the text of a configuration file -> a frozen Config, or every error in it.
// Pure: no I/O; src/os/config-file.ts reads the file and checks its ownership.

import { ErrorList } from "./errors.ts";
import { deepFreeze } from "./freeze.ts";
import { lex } from "./lexer.ts";
import type { ParseResult } from "./model.ts";
import { parseStatements, type Parsed } from "./parser.ts";
import { show } from "./show.ts";

export function parseConfig(text: string): ParseResult {
  const errors = new ErrorList();
  const parsed = parseStatements(lex(text, errors), errors);
  checkDuplicateNames(parsed, errors);
  if (errors.count > 0) return deepFreeze({ ok: false, errors: errors.sorted() });
  return deepFreeze({
    ok: true,
    config: { jobs: parsed.jobs, reportTo: parsed.reportTo, listenOn: parsed.listenOn, metricsOn: null, includes: [], files: [] },
  });
}

/** Names identify jobs in logs, UDP reports and enable/disable commands: they must be unique. */
function checkDuplicateNames(parsed: Parsed, errors: ErrorList): void {
  const firstLine = new Map<string, number>();
  for (const { name, line } of parsed.names) {
    const first = firstLine.get(name);
    if (first === undefined) firstLine.set(name, line);
    else errors.add(line, `duplicate job name ${show(name)} (first used on line ${first})`);
  }
}
