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
import { dependsLine, JOB_KEYWORD_LIST, JOB_KEYWORDS, ulimitLine, type Block } from "./keywords.ts";
import type { Statement, Token } from "./lexer.ts";
import type { JobSpec, UdpAddress } from "./model.ts";
import { show } from "./show.ts";
import { udpAddress } from "./udp.ts";
import { check } from "./values.ts";

export interface Parsed {
  /** Finished jobs with the line of their `name`, for the duplicate check. */
  readonly jobs: { readonly spec: JobSpec; readonly nameLine: number }[];
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
  const parsed: Parsed = { jobs: [], reportTo: [], listenOn: null };
  let listenLine = 0;
  let job: DraftJob | null = null;
  let block: { kind: Block; line: number } | null = null;

  const closeJob = (open: DraftJob): void => {
    const spec = finishJob(open, errors);
    if (spec) parsed.jobs.push({ spec, nameLine: open.nameLine });
  };

  for (const statement of statements) {
    const [head, ...words] = statement;
    if (!head) continue;
    const keyword = head.quoted ? null : head.text;

    if (keyword === "}") {
      if (words[0]) errors.add(head.line, `} must be on its own line (found ${show(words[0].text)} after it)`);
      if (block) block = null;
      else if (job) {
        closeJob(job);
        job = null;
      } else errors.add(head.line, "unmatched } (no block is open here)");
      continue;
    }

    if (block && job) {
      // A keyword inside an inner block almost always means its } was forgotten: say so once
      // and read the line as part of the job, instead of one error per following line.
      if (keyword !== null && (keyword === "job" || keyword in JOB_KEYWORDS || isGlobal(keyword))) {
        errors.add(block.line, `${block.kind} { is never closed (add } on its own line)`);
        block = null;
      } else {
        const quoted = statement.find((t) => t.quoted);
        if (quoted) errors.add(quoted.line, `quotes are not allowed in a ${block.kind} block (found ${show(quoted.text)})`);
        else if (block.kind === "ulimit") ulimitLine(job, statement, errors);
        else dependsLine(job, statement, errors);
        continue;
      }
    }

    if (keyword === "job") {
      if (job) {
        errors.add(job.line, "job { is never closed (add } before the next job)");
        closeJob(job);
      }
      job = newDraft(head.line);
      checkJobOpener(head, words, errors);
      continue;
    }

    if (isGlobal(keyword)) {
      if (job) {
        errors.add(head.line, `${keyword} ${GLOBALS[keyword].second} is a global setting: move it outside the job block`);
        continue;
      }
      const address = globalAddress(keyword, head, words, errors);
      if (!address) continue;
      if (keyword === "report") parsed.reportTo.push(address);
      else if (parsed.listenOn) errors.add(head.line, `listen on given twice (first on line ${listenLine})`);
      else [parsed.listenOn, listenLine] = [address, head.line];
      continue;
    }

    if (!job) {
      if (keyword !== null && keyword in JOB_KEYWORDS) errors.add(head.line, `${keyword} is only allowed inside a job { } block`);
      else errors.add(head.line, `unknown keyword ${show(head.text)} outside a job (expected job {, report to or listen on)`);
      continue;
    }

    const entry = keyword === null ? undefined : JOB_KEYWORDS[keyword];
    if (keyword === null || !entry) {
      const hint = keyword === "{" ? "; { belongs at the end of the line that opens the block" : "";
      errors.add(head.line, `unknown keyword ${show(head.text)} (expected one of ${JOB_KEYWORD_LIST}${hint})`);
      continue;
    }
    const first = job.seen.get(keyword);
    if (entry.single && first !== undefined) {
      errors.add(head.line, `${keyword} given twice in this job (first on line ${first})`);
      continue;
    }
    if (first === undefined) job.seen.set(keyword, head.line);
    const quoted = entry.quotes ? undefined : words.find((w) => w.quoted);
    if (quoted) {
      errors.add(quoted.line, `quotes are only allowed in cmd arguments and env values (found ${show(quoted.text)} after ${keyword})`);
      continue;
    }
    const opened = entry.take(job, words, head, errors);
    if (opened) block = { kind: opened, line: head.line };
  }

  if (block) errors.add(block.line, `${block.kind} { is never closed (add } on its own line)`);
  if (job) {
    errors.add(job.line, "job { is never closed (add } on its own line)");
    closeJob(job);
  }
  return parsed;
}

/** `job {` exactly. A job is opened either way, so the lines that follow are still checked. */
function checkJobOpener(head: Token, words: readonly Token[], errors: ErrorList): void {
  const [brace, extra] = words;
  if (brace && !brace.quoted && brace.text === "{") {
    if (extra) errors.add(head.line, `nothing may follow "job {" on its line (found ${show(extra.text)}: put it on the next line)`);
  } else if (brace && words.some((w) => w.text === "{")) {
    errors.add(head.line, `job takes no name here: write "job {" and then "name ${brace.text}" inside the block`);
  } else {
    errors.add(head.line, "job must be followed by { on the same line (job {)");
  }
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
