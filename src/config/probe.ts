// SPEC §12 `ready` and `check` lines:
//
//   ready  tcp HOST:PORT | http URL | file /PATH | exec /PROGRAM ARGS... | notify   [within D]
//   check  tcp HOST:PORT | http URL | exec /PROGRAM ARGS...   [every D] [timeout D] [failures N]
//
// The options are read from the end of the line, so an exec probe's own arguments may be
// anything except, at their very end, an unquoted option word followed by a value
// (quote it: `"every"`).

import { ErrorList } from "./errors.ts";
import type { DraftJob } from "./job-draft.ts";
import type { Token } from "./lexer.ts";
import type { CheckSpec, Probe, ReadySpec } from "./model.ts";
import { hasMarks, substitute, type InstanceProbes } from "./instances.ts";
import { DEFAULT_CHECK, DEFAULT_READY_WITHIN_MS } from "./defaults.ts";
import { durationMs } from "./duration.ts";
import { cut, show } from "./show.ts";
import { bareHost, hostProblem, portNumber } from "./udp.ts";
import { commandLine, shownWords, value } from "./take.ts";
import * as v from "./values.ts";

type Kind = Probe["kind"];

const READY_KINDS: readonly Kind[] = ["tcp", "http", "file", "exec", "notify"];
const CHECK_KINDS: readonly Kind[] = ["tcp", "http", "exec"];

const within = durationMs("ready within");
const every = durationMs("check every");
const timeout = durationMs("check timeout");
const failures = v.integer("check failures", 1, 1000);

export function ready(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  if (namesInstance(words)) job.perInstance.ready = { words, keyword, usage };
  else job.ready = readyLine(words, keyword, errors, usage);
  return undefined;
}

export function check(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  if (namesInstance(words)) job.perInstance.check = { words, keyword, usage };
  else job.check = checkLine(words, keyword, errors, usage);
  return undefined;
}

function readyLine(words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): ReadySpec | null {
  const { rest, options } = trailingOptions(words, ["within"]);
  const probe = parseProbe("ready", READY_KINDS, rest, keyword, errors, usage);
  const withinMs = options.within ? value(within, options.within, errors) : DEFAULT_READY_WITHIN_MS;
  return probe && withinMs !== null ? { probe, withinMs } : null;
}

function checkLine(words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): CheckSpec | null {
  const { rest, options } = trailingOptions(words, ["every", "timeout", "failures"]);
  const probe = parseProbe("check", CHECK_KINDS, rest, keyword, errors, usage);
  const everyMs = options.every ? value(every, options.every, errors) : DEFAULT_CHECK.everyMs;
  const timeoutMs = options.timeout ? value(timeout, options.timeout, errors) : DEFAULT_CHECK.timeoutMs;
  const count = options.failures ? value(failures, options.failures, errors) : DEFAULT_CHECK.failures;
  return probe && everyMs !== null && timeoutMs !== null && count !== null ? { probe, everyMs, timeoutMs, failures: count } : null;
}

// ---- %i in probes (SPEC §12, §15) -----------------------------------------------------------
// An instance's probe names its own port, URL, file or program arguments, like its cmd. A line
// with `%` marks is kept as words until the block is finished: only then is `instances` known
// (it may come after `ready`), and a port such as `80%i` can only be checked once substituted.

/** A `ready` or `check` line kept as words until `instances` is known. */
export interface IndexedLine {
  readonly words: readonly Token[];
  readonly keyword: Token;
  readonly usage: string;
}


function namesInstance(words: readonly Token[]): boolean {
  return words.some((w) => hasMarks(w.text));
}

/** Probes of the deferred lines: read as written when the job has no `instances` (a `%` then
 *  keeps its meaning, as in cmd), else once per instance with `%i` and `%%` substituted. An
 *  error is reported once, for the first instance it occurs in. */
export function indexedProbes(lines: DraftJob["perInstance"], name: string | null, instances: number | null, errors: ErrorList): InstanceProbes[] {
  if (!lines.ready && !lines.check) return [];
  const read = (index: number | null, into: ErrorList): InstanceProbes => {
    const at = (l: IndexedLine): readonly Token[] => (index === null ? l.words : l.words.map((w) => ({ ...w, text: substitute(w.text, index) })));
    const out: { ready?: ReadySpec | null; check?: CheckSpec | null } = {};
    if (lines.ready) out.ready = readyLine(at(lines.ready), lines.ready.keyword, into, lines.ready.usage);
    if (lines.check) out.check = checkLine(at(lines.check), lines.check.keyword, into, lines.check.usage);
    return out;
  };
  if (instances === null) {
    const scratch = new ErrorList();
    const probes = read(null, scratch);
    for (const e of scratch.byLine()) errors.add(e.line, e.message.includes("%i") ? `${e.message} (%i is replaced only in a job with instances N)` : e.message);
    return [probes];
  }
  const all: InstanceProbes[] = [];
  for (let index = 1; index <= instances; index++) {
    const scratch = new ErrorList();
    all.push(read(index, scratch));
    if (scratch.count > 0) {
      for (const e of scratch.byLine()) errors.add(e.line, `${e.message} (in instance ${name ?? "?"}.${index}, where %i is ${index})`);
      break;
    }
  }
  return all;
}

/** Strips `NAME VALUE` pairs with NAME in `names` from the end, each at most once. */
function trailingOptions(words: readonly Token[], names: readonly string[]): { rest: readonly Token[]; options: Record<string, Token> } {
  const options: Record<string, Token> = {};
  let end = words.length;
  for (;;) {
    const name = words[end - 2];
    const arg = words[end - 1];
    if (!name || !arg || name.quoted || !names.includes(name.text) || Object.hasOwn(options, name.text)) break;
    options[name.text] = arg;
    end -= 2;
  }
  return { rest: words.slice(0, end), options };
}

function parseProbe(what: "ready" | "check", kinds: readonly Kind[], words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): Probe | null {
  const [kindTok, ...args] = words;
  const kind = kindTok && !kindTok.quoted ? kinds.find((k) => k === kindTok.text) : undefined;
  if (!kindTok || !kind) {
    const got = kindTok ? show(kindTok.text) : "nothing";
    const notHere = kindTok && !kindTok.quoted && READY_KINDS.includes(kindTok.text as Kind) ? ` (${kindTok.text} is only for ready)` : "";
    errors.add(kindTok?.line ?? keyword.line, `${what} ${got} is not a probe${notHere}: expected ${usage}`);
    return null;
  }
  if (kind === "exec") {
    const argv = commandLine(`${what} exec`, args, keyword.line, errors);
    return argv ? { kind, argv } : null;
  }
  const [arg] = args;
  if (kind === "notify") {
    if (arg) errors.add(arg.line, `${what} notify takes no value (got ${shownWords(args)})`);
    return arg ? null : { kind };
  }
  if (args.length !== 1 || !arg) {
    errors.add(keyword.line, `${what} ${kind} takes one value, got ${args.length === 0 ? "nothing" : shownWords(args)} (expected: ${FORMS[kind]})`);
    return null;
  }
  const probe = kind === "tcp" ? tcpProbe(what, arg.text) : kind === "http" ? httpProbe(what, arg.text) : fileProbe(what, arg.text);
  if (typeof probe === "string") {
    errors.add(arg.line, probe);
    return null;
  }
  return probe;
}

const FORMS: Record<"tcp" | "http" | "file", string> = {
  tcp: "tcp HOST:PORT, e.g. tcp 127.0.0.1:5432",
  http: "http URL, e.g. http http://127.0.0.1:8080/healthz",
  file: "file /absolute/path",
};

function tcpProbe(what: string, text: string): Probe | string {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) return `${what} tcp ${show(text)} is not HOST:PORT (e.g. 127.0.0.1:5432)`;
  const rawHost = text.slice(0, colon);
  const fault = hostProblem(`${what} tcp`, rawHost);
  if (fault) return fault;
  const port = portNumber(text.slice(colon + 1));
  if (port === null) return `${what} tcp port ${show(text.slice(colon + 1))} is out of range 1..65535`;
  return { kind: "tcp", host: bareHost(rawHost), port };
}

function httpProbe(what: string, text: string): Probe | string {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    return `${what} http ${show(text)} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/healthz)`;
  }
  return { kind: "http", url: text };
}

function fileProbe(what: string, text: string): Probe | string {
  if (!text.startsWith("/")) return `${what} file ${show(text)} is not an absolute path (it must start with /, e.g. /run/${cut(text)})`;
  return { kind: "file", path: text };
}
