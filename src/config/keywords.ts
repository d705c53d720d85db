// The job keywords of SPEC §2, one row each: the grammar of a job block is this table.
// A row says whether the keyword may appear only once per job, whether its values may be
// quoted, and how its words become fields of the job being read.

import type { ErrorList } from "./errors.ts";
import type { DraftJob } from "./job-draft.ts";
import type { Token } from "./lexer.ts";
import { cut, show } from "./show.ts";
import { cpuSet } from "./cpu.ts";
import { ulimitResource, ulimitValue } from "./ulimit.ts";
import * as v from "./values.ts";

/** A block a keyword opens with `{` at the end of its line. */
export type Block = "ulimit" | "depends";

/** Applies one statement's words (after the keyword) to the job; may open a block. */
type Take = (job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList) => Block | undefined;

export interface JobKeyword {
  readonly usage: string;
  /** A second use in the same job is an error. */
  readonly single: boolean;
  /** `"..."` may appear in its words. */
  readonly quotes: boolean;
  readonly take: Take;
}

export const JOB_KEYWORDS: Readonly<Record<string, JobKeyword>> = {
  name:    { usage: "name NAME",                  single: true,  quotes: false, take: one(v.jobName, (j, x, t) => { j.name = x; j.nameLine = t.line; }) },
  cmd:     { usage: "cmd /path/to/program ARGS",  single: true,  quotes: true,  take: command },
  dir:     { usage: "dir /absolute/dir",          single: true,  quotes: false, take: one(v.absolutePath("dir"), (j, x) => { j.dir = x; }) },
  out:     { usage: "out FILE",                   single: true,  quotes: false, take: one(v.ioPath, (j, x) => { j.out = x; }) },
  err:     { usage: "err FILE",                   single: true,  quotes: false, take: one(v.ioPath, (j, x) => { j.err = x; }) },
  in:      { usage: "in FILE",                    single: true,  quotes: false, take: one(v.ioPath, (j, x) => { j.in = x; }) },
  user:    { usage: "user NAME",                  single: true,  quotes: false, take: one(v.user, (j, x) => { j.user = x; }) },
  env:     { usage: 'env VAR=VALUE (VAR="a b" for spaces)', single: false, quotes: true, take: one(v.envEntry, (j, x) => { j.env.push(x); }) },
  nice:    { usage: "nice -20..19",               single: true,  quotes: false, take: one(v.nice, (j, x) => { j.nice = x; }) },
  cpu:     { usage: "cpu 0,2-4 or cpu 0x15",      single: true,  quotes: false, take: one(cpuSet, (j, x) => { j.cpu = x; }) },
  ulimit:  { usage: "ulimit -n 4096 or ulimit {", single: false, quotes: false, take: ulimit },
  bounce:  { usage: "bounce every N[smhd]",       single: true,  quotes: false, take: bounce },
  depends: { usage: "depends {",                  single: false, quotes: false, take: opens("depends") },
  order:   { usage: "order N",                    single: true,  quotes: false, take: one(v.order, (j, x) => { j.order = x; }) },
  wait:    { usage: "wait",                       single: false, quotes: false, take: flag((j) => { j.wait = true; }) },
  once:    { usage: "once",                       single: false, quotes: false, take: flag((j) => { j.once = true; }) },
  disable: { usage: "disable",                    single: false, quotes: false, take: flag((j) => { j.disabled = true; }) },
};

export const JOB_KEYWORD_LIST = Object.keys(JOB_KEYWORDS).join(" ");

/** The row for `word`; own properties only, so "constructor" or "__proto__" is not a keyword. */
export function jobKeyword(word: string | null): JobKeyword | undefined {
  return word !== null && Object.hasOwn(JOB_KEYWORDS, word) ? JOB_KEYWORDS[word] : undefined;
}

/** A line inside `ulimit { }`: FLAG VALUE. */
export function ulimitLine(job: DraftJob, words: readonly Token[], errors: ErrorList): void {
  const [flagTok, valueTok] = words;
  if (words.length !== 2 || !flagTok || !valueTok) {
    errors.add(words[0]?.line ?? job.line, `ulimit block line ${show(words.map((w) => w.text).join(" "))} is not FLAG VALUE (e.g. -n 4096)`);
    return;
  }
  const resource = v.check(ulimitResource, flagTok.text);
  if (!resource.ok) return errors.add(flagTok.line, resource.message);
  const value = v.check(ulimitValue(resource.value, flagTok.text), valueTok.text);
  if (!value.ok) return errors.add(valueTok.line, value.message);
  job.ulimits.push({ resource: resource.value, value: value.value });
}

const dependsPath = v.absolutePath("depends file");

/** A line inside `depends { }`: one or more absolute paths. */
export function dependsLine(job: DraftJob, words: readonly Token[], errors: ErrorList): void {
  for (const w of words) {
    const path = v.check(dependsPath, w.text);
    if (path.ok) job.depends.push(path.value);
    else errors.add(w.line, path.message);
  }
}

function usageOf(keyword: Token): string {
  return jobKeyword(keyword.text)?.usage ?? keyword.text;
}

/** Words of a statement quoted in a "takes one value" message; more are shown as "...". */
const MAX_WORDS_SHOWN = 4;

function one<T>(schema: v.ValueSchema<T>, set: (job: DraftJob, value: T, token: Token) => void): Take {
  return (job, words, keyword, errors) => {
    const [word] = words;
    if (words.length !== 1 || !word) {
      // A few words show what went wrong; all of them made a 2 MB message of a line of 500 000.
      const shown = words.slice(0, MAX_WORDS_SHOWN).map((w) => show(w.text)).join(" ");
      const got = words.length === 0 ? "nothing" : `${words.length} words: ${shown}${words.length > MAX_WORDS_SHOWN ? " ..." : ""}`;
      errors.add(keyword.line, `${keyword.text} takes one value, got ${got} (expected: ${usageOf(keyword)})`);
      return undefined;
    }
    const value = v.check(schema, word.text);
    if (value.ok) set(job, value.value, word);
    else errors.add(word.line, value.message);
    return undefined;
  };
}

function flag(set: (job: DraftJob) => void): Take {
  return (job, words, keyword, errors) => {
    if (words[0]) errors.add(keyword.line, `${keyword.text} takes no value (got ${show(words[0].text)})`);
    else set(job);
    return undefined;
  };
}

function opens(block: Block): Take {
  return (_job, words, keyword, errors) => {
    if (words.length === 1 && words[0]?.text === "{") return block;
    errors.add(keyword.line, `${keyword.text} must be followed by { on the same line, then one entry per line and } on its own line`);
    return undefined;
  };
}

const program = v.absolutePath("cmd");

function command(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList): undefined {
  const [first] = words;
  if (!first) {
    errors.add(keyword.line, `cmd needs a program (expected: ${usageOf(keyword)})`);
  } else if (!program.safeParse(first.text).success) {
    const example = first.text && !first.text.includes("/") ? `/usr/bin/${cut(first.text)}` : "/usr/bin/prog";
    errors.add(first.line, `cmd ${show(first.text)} is not an absolute path (pmtr does not search PATH: write the full path, e.g. ${example})`);
  } else {
    job.argv = words.map((w) => w.text);
  }
  return undefined;
}

function ulimit(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList): Block | undefined {
  if (words.length === 1 && words[0]?.text === "{") return "ulimit";
  if (words.length !== 2) {
    const got = words.length === 1 ? "1 word" : `${words.length} words`;
    errors.add(keyword.line, `ulimit takes a flag and a value, got ${got} (expected: ulimit -n 4096, or ulimit { on its own line)`);
    return undefined;
  }
  ulimitLine(job, words, errors);
  return undefined;
}

function bounce(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList): undefined {
  const [every, duration] = words;
  if (words.length !== 2 || every?.text !== "every" || !duration) {
    errors.add(keyword.line, `bounce must be written bounce every N[smhd], e.g. bounce every 12h (got ${show(words.map((w) => w.text).join(" "))})`);
    return undefined;
  }
  const sec = v.check(v.bounceSec, duration.text);
  if (sec.ok) job.bounceSec = sec.value;
  else errors.add(duration.line, sec.message);
  return undefined;
}
