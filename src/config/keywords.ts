// The job keywords of SPEC §2 and §11–§15, one row each: the grammar of a job block is this
// table. A row says whether the keyword may appear only once per job, whether its values may
// be quoted, and how its words become fields of the job being read. Keywords of two words
// (`stop signal`, `on exit`, `env file`) share a row and check their own second word.

import type { ErrorList } from "./errors.ts";
import type { DraftJob } from "./job-draft.ts";
import type { Token } from "./lexer.ts";
import { cut, show } from "./show.ts";
import { cpuSet } from "./cpu.ts";
import { ulimitResource, ulimitValue } from "./ulimit.ts";
import { backoff, giveUp, restart, stable, stop } from "./policy.ts";
import { check, ready } from "./probe.ts";
import { rotate } from "./rotate.ts";
import { commandLine, firstUse, flag, isWord, one, opens, shownWords, value, type Block, type Take } from "./take.ts";
import * as v from "./values.ts";

export type { Block } from "./take.ts";

export interface JobKeyword {
  readonly usage: string;
  /** A second use in the same job is an error. */
  readonly single: boolean;
  /** `"..."` may appear in its words. */
  readonly quotes: boolean;
  readonly take: Take;
}

export const JOB_KEYWORDS: Readonly<Record<string, JobKeyword>> = {
  name:      { usage: "name NAME",                  single: true,  quotes: false, take: one(v.jobName, (j, x, t) => { j.name = x; j.nameLine = t.line; }) },
  cmd:       { usage: "cmd /path/to/program ARGS",  single: true,  quotes: true,  take: command },
  dir:       { usage: "dir /absolute/dir",          single: true,  quotes: false, take: one(v.absolutePath("dir"), (j, x) => { j.dir = x; }) },
  out:       { usage: "out FILE",                   single: true,  quotes: false, take: one(v.ioPath, (j, x) => { j.out = x; }) },
  err:       { usage: "err FILE",                   single: true,  quotes: false, take: one(v.ioPath, (j, x) => { j.err = x; }) },
  in:        { usage: "in FILE",                    single: true,  quotes: false, take: one(v.ioPath, (j, x) => { j.in = x; }) },
  user:      { usage: "user NAME",                  single: true,  quotes: false, take: one(v.user, (j, x) => { j.user = x; }) },
  env:       { usage: 'env VAR=VALUE (VAR="a b" for spaces) or env file /absolute/path', single: false, quotes: true, take: env },
  nice:      { usage: "nice -20..19",               single: true,  quotes: false, take: one(v.nice, (j, x) => { j.nice = x; }) },
  cpu:       { usage: "cpu 0,2-4 or cpu 0x15",      single: true,  quotes: false, take: one(cpuSet, (j, x) => { j.cpu = x; }) },
  ulimit:    { usage: "ulimit -n 4096 or ulimit {", single: false, quotes: false, take: ulimit },
  bounce:    { usage: "bounce every N[smhd]",       single: true,  quotes: false, take: bounce },
  depends:   { usage: "depends {",                  single: false, quotes: false, take: opens("depends") },
  order:     { usage: "order N",                    single: true,  quotes: false, take: one(v.order, (j, x) => { j.order = x; }) },
  wait:      { usage: "wait",                       single: false, quotes: false, take: flag((j) => { j.wait = true; }) },
  once:      { usage: "once",                       single: false, quotes: false, take: flag((j) => { j.once = true; }) },
  disable:   { usage: "disable",                    single: false, quotes: false, take: flag((j) => { j.disabled = true; }) },
  // SPEC §11
  restart:   { usage: "restart always|on-failure|never", single: true, quotes: false, take: restart },
  backoff:   { usage: "backoff MIN..MAX, e.g. backoff 1s..5m", single: true, quotes: false, take: backoff },
  stable:    { usage: "stable DURATION, e.g. stable 30s", single: true, quotes: false, take: stable },
  give:      { usage: "give up after N in DURATION, e.g. give up after 5 in 60s", single: true, quotes: false, take: giveUp },
  stop:      { usage: "stop signal NAME or stop timeout DURATION, e.g. stop signal QUIT", single: false, quotes: false, take: stop },
  // SPEC §12
  ready:     { usage: "ready tcp HOST:PORT|http URL|file /PATH|exec /PROGRAM ARGS|notify [within DURATION]", single: true, quotes: true, take: ready },
  after:     { usage: "after NAME [ready|started|done]", single: false, quotes: false, take: after },
  check:     { usage: "check tcp HOST:PORT|http URL|exec /PROGRAM ARGS [every DURATION] [timeout DURATION] [failures N]", single: true, quotes: true, take: check },
  // SPEC §13, §14
  rotate:    { usage: "rotate SIZE [keep N], e.g. rotate 10M keep 5", single: true, quotes: false, take: rotate },
  on:        { usage: "on exit /PROGRAM ARGS or on fail /PROGRAM ARGS", single: false, quotes: true, take: hook },
  // SPEC §15
  instances: { usage: "instances N (1..1000)", single: true, quotes: false, take: one(v.integer("instances", 1, 1000), (j, x) => { j.instances = x; }) },
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

const program = v.absolutePath("cmd");

function command(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  const [first] = words;
  if (!first) {
    errors.add(keyword.line, `cmd needs a program (expected: ${usage})`);
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

const envFile = v.absolutePath("env file");
const ENV_ENTRY_USAGE = 'env VAR=VALUE (VAR="a b" for spaces)';
const envEntry = one(v.envEntry, (j, x) => { j.env.push(x); });

/** `env VAR=VALUE` or `env file /PATH` (a name cannot be "file" without "=", so no clash). */
function env(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList): undefined {
  const [first, path] = words;
  if (!isWord(first, "file")) return envEntry(job, words, keyword, errors, ENV_ENTRY_USAGE) as undefined;
  if (words.length !== 2 || !path) {
    errors.add(keyword.line, `env file takes one path, got ${words.length === 1 ? "nothing" : shownWords(words.slice(1))} (expected: env file /absolute/path)`);
    return undefined;
  }
  if (path.quoted) {
    errors.add(path.line, `quotes are not allowed in an env file path (found ${show(path.text)})`);
    return undefined;
  }
  const file = value(envFile, path, errors);
  if (file !== null) job.envFiles.push(file);
  if (file !== null && !job.seen.has(`env file ${file}`)) job.seen.set(`env file ${file}`, keyword.line);
  return undefined;
}

const CONDITIONS = ["ready", "started", "done"] as const;

/** `after NAME [ready|started|done]`; whether NAME exists is checked once all jobs are read. */
function after(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  const [nameTok, conditionTok] = words;
  if (!nameTok || words.length > 2) {
    errors.add(keyword.line, `after takes a job name and an optional condition, got ${words.length === 0 ? "nothing" : shownWords(words)} (expected: ${usage})`);
    return undefined;
  }
  const name = value(v.jobName, nameTok, errors);
  const condition = conditionTok ? CONDITIONS.find((c) => c === conditionTok.text) : null;
  if (conditionTok && !condition) errors.add(conditionTok.line, `after ${cut(nameTok.text)} ${show(conditionTok.text)}: the condition is one of ready, started, done`);
  if (name !== null && condition !== undefined) job.after.push({ name, condition, line: keyword.line });
  return undefined;
}

/** `on exit CMD...` and `on fail CMD...`, each once per job. */
function hook(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  const [event, ...rest] = words;
  const which = isWord(event, "exit") ? "exit" : isWord(event, "fail") ? "fail" : null;
  if (which === null) {
    errors.add(keyword.line, `on must be written ${usage} (got ${words.length === 0 ? "nothing" : shownWords(words)})`);
    return undefined;
  }
  if (!firstUse(job, `on ${which}`, keyword.line, errors)) return undefined;
  const argv = commandLine(`on ${which}`, rest, keyword.line, errors);
  if (argv === null) return undefined;
  if (which === "exit") job.onExit = argv;
  else job.onFail = argv;
  return undefined;
}
