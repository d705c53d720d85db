// Statements -> jobs and global settings of one file. The grammar (SPEC §2, §14, §15):
//
//   file      := { global | job }
//   global    := "report to" UDP-URL | "listen on" UDP-URL | "metrics on" HTTP-URL | "include" GLOB
//   job       := "job {" { keyword words | ulimit-block | depends-block } "}"
//   ulimit    := "ulimit {" { FLAG VALUE } "}"
//   depends   := "depends {" { PATH... } "}"
//
// Keywords are recognised only as the first word of a line; `{` ends the line that opens a
// block and `}` stands alone. The only state is which job and which inner block are open,
// so nesting depth is bounded and any input is read in one linear pass. After an error the
// parser carries on with the next line, so one run reports every error in the file.

import type { ErrorList } from "./errors.ts";
import { finishJob, newDraft, type DraftJob, type FinishedJob } from "./job-draft.ts";
import { dependsLine, JOB_KEYWORD_LIST, jobKeyword, ulimitLine, type Block } from "./keywords.ts";
import type { Statement, Token } from "./lexer.ts";
import type { Config, UdpAddress } from "./model.ts";
import { includePattern, metricsAddress } from "./globals.ts";
import { cut, show } from "./show.ts";
import { udpAddress } from "./udp.ts";
import { check } from "./values.ts";

export interface Parsed {
  readonly file: string;
  readonly jobs: FinishedJob[];
  /** Every job's name and its line, valid job or not, for the duplicate check. */
  readonly names: { readonly name: string; readonly line: number }[];
  readonly reportTo: UdpAddress[];
  listenOn: UdpAddress | null;
  metricsOn: Config["metricsOn"];
  /** `include` patterns with their lines, in file order. */
  readonly includes: { readonly pattern: string; readonly line: number }[];
}

const GLOBALS = {
  report: { second: "to", usage: "report to udp://HOST:PORT[@IFACE]" },
  listen: { second: "on", usage: "listen on udp://HOST:PORT" },
  metrics: { second: "on", usage: "metrics on http://HOST:PORT" },
  include: { second: null, usage: "include /absolute/dir/GLOB, e.g. include /etc/pmtr.d/*.conf" },
} as const;

type Global = keyof typeof GLOBALS;

const reportTo = udpAddress("report to");
const listenOn = udpAddress("listen on");

function isGlobal(word: string | null): word is Global {
  return word !== null && Object.hasOwn(GLOBALS, word);
}

/** `included`: the file was named by an `include`, so only job blocks may be in it. */
export function parseStatements(statements: readonly Statement[], file: string, included: boolean, errors: ErrorList): Parsed {
  const reader = new Reader(file, included, errors);
  for (const statement of statements) reader.statement(statement);
  return reader.end();
}

class Reader {
  private readonly parsed: Parsed;
  private readonly globalLines = new Map<Global, number>();
  private job: DraftJob | null = null;
  private block: { kind: Block; line: number } | null = null;
  /** The job statement on the line before, for the hint about lines that continue a cmd. */
  private previousLine: { keyword: string | null; line: number } | null = null;

  constructor(
    private readonly file: string,
    private readonly included: boolean,
    private readonly errors: ErrorList,
  ) {
    this.parsed = { file, jobs: [], names: [], reportTo: [], listenOn: null, metricsOn: null, includes: [] };
  }

  statement(statement: Statement): void {
    const { errors, job, block } = this;
    const [head, ...words] = statement;
    if (!head) return;
    const keyword = head.quoted ? null : head.text;

    if (keyword === "}") {
      if (words[0]) errors.add(head.line, `} must be on its own line (found ${show(words[0].text)} after it)`);
      if (block) this.block = null;
      else if (job) this.closeJob(job);
      else errors.add(head.line, "unmatched } (no block is open here)");
      return;
    }

    if (block && job) {
      // A keyword inside an inner block almost always means its } was forgotten: say so once
      // and read the line as part of the job, instead of one error per following line.
      if (keyword === null || !(keyword === "job" || jobKeyword(keyword) || isGlobal(keyword))) {
        const quoted = statement.find((t) => t.quoted);
        if (quoted) errors.add(quoted.line, `quotes are not allowed in a ${block.kind} block (found ${show(quoted.text)})`);
        else if (block.kind === "ulimit") ulimitLine(job, statement, errors);
        else dependsLine(job, statement, errors);
        return;
      }
      errors.add(block.line, `${block.kind} { is never closed (add } on its own line)`);
      this.block = null;
    }

    if (keyword === "job") return this.openJob(head, words);
    if (isGlobal(keyword)) return this.global(keyword, head, words);
    if (!job) {
      if (jobKeyword(keyword)) errors.add(head.line, `${keyword} is only allowed inside a job { } block`);
      else errors.add(head.line, `unknown keyword ${show(head.text)} outside a job (expected job {, report to, listen on, metrics on or include)`);
      return;
    }
    this.jobStatement(job, keyword, head, words);
  }

  end(): Parsed {
    if (this.block) this.errors.add(this.block.line, `${this.block.kind} { is never closed (add } on its own line)`);
    if (this.job) {
      this.errors.add(this.job.line, "job { is never closed (add } on its own line)");
      this.closeJob(this.job);
    }
    return this.parsed;
  }

  private jobStatement(job: DraftJob, keyword: string | null, head: Token, words: readonly Token[]): void {
    const { errors } = this;
    const entry = jobKeyword(keyword);
    const previous = this.previousLine;
    this.previousLine = { keyword, line: head.line };
    if (keyword === null || !entry) {
      errors.add(head.line, `unknown keyword ${show(head.text)} (expected one of ${JOB_KEYWORD_LIST}${unknownHint(keyword, head, previous)})`);
      return;
    }
    const first = job.seen.get(keyword);
    if (entry.single && first !== undefined) {
      errors.add(head.line, `${keyword} given twice in this job (first on line ${first})`);
      return;
    }
    if (first === undefined) job.seen.set(keyword, head.line);
    const quoted = entry.quotes ? undefined : words.find((w) => w.quoted);
    if (quoted) {
      errors.add(quoted.line, `quotes are only allowed in cmd arguments and env values (found ${show(quoted.text)} after ${keyword})`);
      return;
    }
    const opened = entry.take(job, words, head, errors, entry.usage);
    if (opened) this.block = { kind: opened, line: head.line };
  }

  /** `job {` exactly. A job is opened even when the line is wrong, so what follows is checked. */
  private openJob(head: Token, words: readonly Token[]): void {
    const { errors } = this;
    if (this.job) {
      errors.add(this.job.line, "job { is never closed (add } before the next job)");
      this.closeJob(this.job);
    }
    this.job = newDraft(head.line);
    const [brace, ...rest] = words;
    if (brace && !brace.quoted && brace.text === "{") {
      if (!rest[0]) return;
      errors.add(head.line, `nothing may follow "job {" on its line (found ${show(rest[0].text)}: put it on the next line)`);
      // Still read it, so that `job { name a` does not also lack a name; but not another
      // `job`, which would recurse once per word of a hostile line.
      if (rest[0].text !== "job") this.statement(rest);
    } else if (brace && words.some((w) => w.text === "{")) {
      errors.add(head.line, `job takes no name here: write "job {" and then "name ${cut(brace.text)}" inside the block`);
    } else {
      errors.add(head.line, "job must be followed by { on the same line (job {)");
    }
  }

  private closeJob(open: DraftJob): void {
    const finished = finishJob(open, this.file, this.errors);
    if (finished) this.parsed.jobs.push(finished);
    if (open.name !== null) this.parsed.names.push({ name: open.name, line: open.nameLine });
    this.job = null;
  }

  private global(keyword: Global, head: Token, words: readonly Token[]): void {
    const { errors, parsed } = this;
    const { second, usage } = GLOBALS[keyword];
    const written = second === null ? keyword : `${keyword} ${second}`;
    if (this.job) {
      errors.add(head.line, `${written} is a global setting: move it outside the job block`);
      return;
    }
    if (this.included) {
      errors.add(head.line, `${written} is only allowed in the main configuration file (an included file holds job blocks only)`);
      return;
    }
    const [secondTok, arg] = second === null ? [undefined, words[0]] : words;
    if (words.length !== (second === null ? 1 : 2) || !arg || (second !== null && secondTok?.text !== second) || words.some((w) => w.quoted)) {
      errors.add(head.line, `${keyword} must be written ${usage} (got ${show(statementText(head, words))})`);
      return;
    }
    if (keyword === "report" || keyword === "include") return this.repeatable(keyword, arg);
    const first = this.globalLines.get(keyword);
    if (first !== undefined) {
      errors.add(head.line, `${written} given twice (first on line ${first})`);
      return;
    }
    this.globalLines.set(keyword, head.line);
    if (keyword === "listen") {
      const address = check(listenOn, arg.text);
      if (address.ok) parsed.listenOn = address.value;
      else errors.add(arg.line, address.message);
    } else {
      const address = check(metricsAddress, arg.text);
      if (address.ok) parsed.metricsOn = address.value;
      else errors.add(arg.line, address.message);
    }
  }

  private repeatable(keyword: "report" | "include", arg: Token): void {
    const result = keyword === "report" ? check(reportTo, arg.text) : check(includePattern, arg.text);
    if (!result.ok) this.errors.add(arg.line, result.message);
    else if (typeof result.value === "string") this.parsed.includes.push({ pattern: result.value, line: arg.line });
    else this.parsed.reportTo.push(result.value);
  }
}

/** Upstream pmtr glued a line that follows `cmd` onto it; files written for it need a hint. */
function unknownHint(keyword: string | null, head: Token, previous: { keyword: string | null; line: number } | null): string {
  if (keyword === "{") return "; { belongs at the end of the line that opens the block";
  const looksLikeArgument = head.quoted || /^[-/.$]/.test(head.text);
  if (looksLikeArgument && previous?.keyword === "cmd" && previous.line === head.line - 1) {
    return "; if this continues the cmd on the line above, join the two lines: a statement cannot span lines";
  }
  return "";
}

function statementText(head: Token, words: readonly Token[]): string {
  return [head, ...words].map((t) => t.text).join(" ");
}
