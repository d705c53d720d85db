// Statements -> jobs and global settings. The grammar (SPEC §2):
//
//   file      := { global | job }
//   global    := "report to" UDP-URL | "listen on" UDP-URL
//   job       := "job {" { keyword words | ulimit-block | depends-block } "}"
//   ulimit    := "ulimit {" { FLAG VALUE } "}"
//   depends   := "depends {" { PATH... } "}"
//
// Keywords are recognised only as the first word of a line; `{` ends the line that opens a
// block and `}` stands alone. The only state is which job and which inner block are open,
// so nesting depth is bounded and any input is read in one linear pass. After an error the
// parser carries on with the next line, so one run reports every error in the file.

import type { ErrorList } from "./errors.ts";
import { finishJob, newDraft, type DraftJob } from "./job-draft.ts";
import { dependsLine, JOB_KEYWORD_LIST, jobKeyword, ulimitLine, type Block } from "./keywords.ts";
import type { Statement, Token } from "./lexer.ts";
import type { JobSpec, UdpAddress } from "./model.ts";
import { cut, show } from "./show.ts";
import { udpAddress } from "./udp.ts";
import { check } from "./values.ts";

export interface Parsed {
  readonly jobs: JobSpec[];
  /** Every job's name and its line, valid job or not, for the duplicate check. */
  readonly names: { readonly name: string; readonly line: number }[];
  readonly reportTo: UdpAddress[];
  listenOn: UdpAddress | null;
}

const GLOBALS = {
  report: { second: "to", schema: udpAddress("report to"), usage: "report to udp://HOST:PORT[@IFACE]" },
  listen: { second: "on", schema: udpAddress("listen on"), usage: "listen on udp://HOST:PORT" },
} as const;

function isGlobal(word: string | null): word is keyof typeof GLOBALS {
  return word === "report" || word === "listen";
}

export function parseStatements(statements: readonly Statement[], errors: ErrorList): Parsed {
  const reader = new Reader(errors);
  for (const statement of statements) reader.statement(statement);
  return reader.end();
}

class Reader {
  private readonly parsed: Parsed = { jobs: [], names: [], reportTo: [], listenOn: null };
  private listenLine = 0;
  private job: DraftJob | null = null;
  private block: { kind: Block; line: number } | null = null;
  /** The job statement on the line before, for the hint about lines that continue a cmd. */
  private previousLine: { keyword: string | null; line: number } | null = null;

  constructor(private readonly errors: ErrorList) {}

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
      else errors.add(head.line, `unknown keyword ${show(head.text)} outside a job (expected job {, report to or listen on)`);
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
    const opened = entry.take(job, words, head, errors);
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
    const spec = finishJob(open, this.errors);
    if (spec) this.parsed.jobs.push(spec);
    if (open.name !== null) this.parsed.names.push({ name: open.name, line: open.nameLine });
    this.job = null;
  }

  private global(keyword: keyof typeof GLOBALS, head: Token, words: readonly Token[]): void {
    const { errors, parsed } = this;
    if (this.job) {
      errors.add(head.line, `${keyword} ${GLOBALS[keyword].second} is a global setting: move it outside the job block`);
      return;
    }
    const address = globalAddress(keyword, head, words, errors);
    if (!address) return;
    if (keyword === "report") parsed.reportTo.push(address);
    else if (parsed.listenOn) errors.add(head.line, `listen on given twice (first on line ${this.listenLine})`);
    else [parsed.listenOn, this.listenLine] = [address, head.line];
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

function globalAddress(keyword: keyof typeof GLOBALS, head: Token, words: readonly Token[], errors: ErrorList): UdpAddress | null {
  const { second, schema, usage } = GLOBALS[keyword];
  const [secondTok, url] = words;
  if (words.length !== 2 || !url || secondTok?.text !== second || words.some((w) => w.quoted)) {
    errors.add(head.line, `${keyword} must be written ${usage} (got ${show(statementText(head, words))})`);
    return null;
  }
  const address = check(schema, url.text);
  if (address.ok) return address.value;
  errors.add(url.line, address.message);
  return null;
}

function statementText(head: Token, words: readonly Token[]): string {
  return [head, ...words].map((t) => t.text).join(" ");
}
