// The small builders the keyword table (keywords.ts) is written with: each turns the words of
// one statement into fields of the job being read, or into errors naming the value and the
// expected form (the row's usage).

import type { ErrorList } from "./errors.ts";
import type { DraftJob } from "./job-draft.ts";
import type { Token } from "./lexer.ts";
import { show } from "./show.ts";
import * as v from "./values.ts";

/** A block a keyword opens with `{` at the end of its line. */
export type Block = "ulimit" | "depends";

/** Applies one statement's words (after the keyword) to the job; may open a block. */
export type Take = (job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string) => Block | undefined;

/** Words of a statement quoted in a message; more are shown as "...". */
const MAX_WORDS_SHOWN = 4;

/** `"a" "b" "c" "d" ...`: a few words show what went wrong; all of them made a 2 MB message of a line of 500 000. */
export function shownWords(words: readonly Token[]): string {
  return `${words.slice(0, MAX_WORDS_SHOWN).map((w) => show(w.text)).join(" ")}${words.length > MAX_WORDS_SHOWN ? " ..." : ""}`;
}

/** `got nothing` / `got 2 words: "a" "b"`. */
export function gotWords(words: readonly Token[]): string {
  return words.length === 0 ? "nothing" : `${words.length} word${words.length === 1 ? "" : "s"}: ${shownWords(words)}`;
}

/** A keyword with exactly one value, checked by `schema`. */
export function one<T>(schema: v.ValueSchema<T>, set: (job: DraftJob, value: T, token: Token) => void): Take {
  return (job, words, keyword, errors, usage) => {
    const [word] = words;
    if (words.length !== 1 || !word) {
      errors.add(keyword.line, `${keyword.text} takes one value, got ${gotWords(words)} (expected: ${usage})`);
      return undefined;
    }
    const value = v.check(schema, word.text);
    if (value.ok) set(job, value.value, word);
    else errors.add(word.line, value.message);
    return undefined;
  };
}

export function flag(set: (job: DraftJob) => void): Take {
  return (job, words, keyword, errors) => {
    if (words[0]) errors.add(keyword.line, `${keyword.text} takes no value (got ${show(words[0].text)})`);
    else set(job);
    return undefined;
  };
}

export function opens(block: Block): Take {
  return (_job, words, keyword, errors) => {
    if (words.length === 1 && words[0]?.text === "{") return block;
    errors.add(keyword.line, `${keyword.text} must be followed by { on the same line, then one entry per line and } on its own line`);
    return undefined;
  };
}

/** For keywords of two words (`stop signal`, `on exit`): false, with the error, when `key`
 *  was already given in this job; else records where it is. */
export function firstUse(job: DraftJob, key: string, line: number, errors: ErrorList): boolean {
  const first = job.seen.get(key);
  if (first !== undefined) {
    errors.add(line, `${key} given twice in this job (first on line ${first})`);
    return false;
  }
  job.seen.set(key, line);
  return true;
}

/** A word that may be a keyword: written, and not inside quotes. */
export function isWord(token: Token | undefined, text: string): boolean {
  return token !== undefined && !token.quoted && token.text === text;
}

/** Checks one value and reports its error at the value's line; the value or null. */
export function value<T>(schema: v.ValueSchema<T>, token: Token, errors: ErrorList): T | null {
  const result = v.check(schema, token.text);
  if (result.ok) return result.value;
  errors.add(token.line, result.message);
  return null;
}

/** `/abs/program args...` for exec probes and hooks: the argv, or null with the error. */
export function commandLine(what: string, words: readonly Token[], line: number, errors: ErrorList): string[] | null {
  const [first] = words;
  if (!first) {
    errors.add(line, `${what} needs a program (expected: ${what} /path/to/program ARGS)`);
    return null;
  }
  if (!first.text.startsWith("/")) {
    errors.add(first.line, `${what} ${show(first.text)} is not an absolute path (pmtr does not search PATH: write the full path)`);
    return null;
  }
  return words.map((w) => w.text);
}
