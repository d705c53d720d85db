// The man pages: lint-free under groff's strictest warnings and man's renderer, and in step
// with the code: every option of the usage text, every exit status, every job keyword and
// ulimit flag of the grammar, and the package version. groff (Debian's groff-base) and man
// (man-db) are installed by .ci/run; without them the rendering tests fail naming the package.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { CLIENT_COMMANDS, USAGE } from "../../src/cli.ts";
import { JOB_KEYWORDS } from "../../src/config/keywords.ts";
import { RLIMIT_NAMES, ULIMIT_FLAGS } from "../../src/config/ulimit.ts";

const MAN = resolve(import.meta.dir, "../../docs/man");
const PAGES = { "pmtr.8": readFileSync(`${MAN}/pmtr.8`, "utf8"), "pmtr.conf.5": readFileSync(`${MAN}/pmtr.conf.5`, "utf8") };
/** A tool the rendering tests need: its path, or a failure naming the Debian package. */
function requireTool(tool: string, debianPackage: string): string {
  const path = Bun.which(tool);
  if (path === null) throw new Error(`${tool} is missing: install Debian's ${debianPackage} (.ci/run installs it)`);
  return path;
}

/** The text of section `name` (from its .SH to the next .SH). */
function section(page: string, name: string): string {
  const start = page.indexOf(`\n.SH ${name}\n`);
  expect(start).toBeGreaterThan(0);
  const end = page.indexOf("\n.SH ", start + 1);
  return page.slice(start, end < 0 ? undefined : end);
}

/** Roff's escaped minus back to a plain one, for comparing with the code. */
const plain = (roff: string) => roff.replaceAll("\\-", "-");

describe.each(Object.entries(PAGES))("%s", (file, page) => {
  test("groff -ww reports nothing", () => {
    const r = Bun.spawnSync([requireTool("groff", "groff-base"), "-t", "-ww", "-z", "-man", `${MAN}/${file}`], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test("man -l renders it at 80 columns without warnings", () => {
    const r = Bun.spawnSync([requireTool("man", "man-db"), "--warnings", "-l", `${MAN}/${file}`], { env: { ...process.env, MANWIDTH: "80", MAN_KEEP_FORMATTING: "" }, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toContain("NAME");
  });

  test("man renders it as lintian does (UTF-8, 80 columns, gzipped as packaged) without warnings", () => {
    const gz = Bun.spawnSync(["gzip", "-9nc", `${MAN}/${file}`], { stdout: "pipe" });
    const dir = mkdtempSync(join(tmpdir(), "pmtr-man-"));
    try {
      const packaged = join(dir, `${file}.gz`);
      writeFileSync(packaged, gz.stdout);
      const r = Bun.spawnSync([requireTool("man", "man-db"), "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", packaged], {
        env: { ...process.env, LC_ALL: "C.UTF-8", MANWIDTH: "80" }, stdout: "pipe", stderr: "pipe",
      });
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("structure: title with the package version, the usual sections, balanced blocks", () => {
    const [name, sectionNo] = file.split(/\.(?=\d$)/);
    expect(page).toMatch(new RegExp(`^\\.TH ${name!.toUpperCase().replace(".", "\\.")} ${sectionNo} \\d{4} "pmtr ${pkg.version.replaceAll(".", "\\.")}"`, "m"));
    for (const s of ["NAME", "SYNOPSIS", "DESCRIPTION", "FILES", "SEE ALSO"]) expect(page).toContain(`\n.SH ${s}\n`);
    for (const [open, close] of [[".RS", ".RE"], [".EX", ".EE"], [".TS", ".TE"]] as const) {
      const count = (m: string) => page.split("\n").filter((l) => l === m || l.startsWith(`${m} `)).length;
      expect(`${open} ${count(open)}`).toBe(`${open} ${count(close)}`);
    }
    if (page.includes("\n.TS\n")) expect(page.startsWith("'\\\" t\n")).toBe(true); // tells man to run tbl
  });
});

describe("pmtr(8) matches the code", () => {
  const page = PAGES["pmtr.8"];
  test("every option of the usage text is described", () => {
    // pmtr's own options: the block between the synopsis and "exit status" (the client
    // commands' arguments, such as --all, are described under CLIENT COMMANDS).
    const block = USAGE.slice(USAGE.indexOf("\n\n"), USAGE.indexOf("\nexit status"));
    const options = [...block.matchAll(/^\s+(-\w|--\w+)(?:,\s*(--\w+))?/gm)].flatMap((m) => [m[1], m[2]]).filter(Boolean);
    expect(options.length).toBeGreaterThanOrEqual(7);
    const described = plain(section(page, "OPTIONS"));
    for (const o of options) expect(described).toMatch(new RegExp(`^\\.(B|BI|BR) .*${o}\\b`, "m"));
  });

  test("exit statuses 0-3, as the usage text lists them", () => {
    const statuses = [...section(page, "EXIT STATUS").matchAll(/^\.TP\n\.B (\d+)$/gm)].map((m) => Number(m[1]));
    expect(statuses).toEqual([0, 1, 2, 3]);
    expect(USAGE).toContain("0 ok, 1 configuration error, 2 usage error, 3 runtime failure");
  });

  test("every client command is described", () => {
    const described = plain(section(page, "CLIENT COMMANDS"));
    for (const c of CLIENT_COMMANDS) expect(described).toMatch(new RegExp(`^\\.TP\\n\\.(B|BI|BR) (.*\\| )?${c}\\b`, "m"));
    expect(plain(section(page, "SYNOPSIS"))).toContain("--json");
  });

  test("signals", () => {
    const s = section(page, "SIGNALS");
    for (const sig of ["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP"]) expect(s).toContain(sig);
  });
});

describe("pmtr.conf(5) matches the grammar", () => {
  const page = PAGES["pmtr.conf.5"];
  test("every job keyword has an entry", () => {
    const settings = section(page, "JOB SETTINGS");
    for (const keyword of Object.keys(JOB_KEYWORDS)) expect(settings).toMatch(new RegExp(`^\\.TP\\n\\.BI? "?${keyword}\\b`, "m"));
  });

  test("every ulimit flag and resource name", () => {
    const text = plain(page);
    for (const [flag, name] of Object.entries(ULIMIT_FLAGS)) expect(text).toMatch(new RegExp(`^${flag}\\t${name}\\t|\\t${flag}\\t${name}$`, "m"));
    for (const name of RLIMIT_NAMES) expect(text).toContain(name);
  });

  test("the global settings", () => {
    const s = section(page, "GLOBAL SETTINGS");
    expect(s).toContain('.BI "report to udp://"');
    expect(s).toContain('.BI "listen on udp://"');
  });
});
