// The bash completion (docs/completion/pmtr.bash) run in bash as bash runs it: COMP_WORDS and
// COMP_CWORD set, the function `complete` registered for pmtr called, COMPREPLY read back.
// Job names come from a real running pmtr over its control socket.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { CLIENT_COMMANDS, USAGE } from "../../src/cli.ts";
import { PMTR, Pmtr, join, rmSync, tempDir, writeConfig } from "../helpers.ts";
import { ROOT, run } from "./dist-lib.ts";

const SCRIPT = resolve(ROOT, "docs/completion/pmtr.bash");
const dir = tempDir("pmtr-completion-");
const sock = join(dir, "pmtr.sock");
let pmtr: Pmtr;

beforeAll(async () => {
  const conf = writeConfig(dir, "job {\n  name web\n  cmd /bin/sleep 600\n}\njob {\n  name worker\n  cmd /bin/sleep 601\n}\njob {\n  name db\n  cmd /bin/sleep 602\n}\n");
  pmtr = new Pmtr(["-F", "-c", conf, "-s", sock]);
  await pmtr.waitLog(/started job db \[\d+\]/, 30_000);
});
afterAll(async () => {
  await pmtr.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What bash offers for the line `words` (the last word is the one being completed). */
function complete(...words: string[]): string[] {
  const script = [
    `. ${JSON.stringify(SCRIPT)}`,
    // The function bash would call for `pmtr`, as `complete -p` registered it.
    `fn=$(complete -p pmtr | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')`,
    'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
    '"$fn" pmtr "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const r = run(["bash", "--norc", "--noprofile", "-c", script, "bash", PMTR, ...words]);
  expect(r.out.replace(r.stdout, "")).toBe(""); // nothing on stderr
  expect(r.code).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

describe("bash completion", () => {
  test("the first word: every client command, read from the binary's usage text", () => {
    expect(complete("").sort()).toEqual([...CLIENT_COMMANDS].sort());
    expect(complete("st")).toEqual(["status", "start", "stop"]);
  });

  test("options, and files after -c", () => {
    const options = complete("-");
    for (const o of ["-F", "-c", "-p", "-s", "-t", "-v", "-h", "--help", "--version"]) expect(options).toContain(o);
    expect(complete("--v")).toEqual(["--version"]);
    writeConfig(dir, "", "other.conf");
    expect(complete("-c", join(dir, "oth"))).toEqual([join(dir, "other.conf")]);
  });

  test("job names from the running pmtr, through the -s socket on the line", () => {
    expect(complete("-s", sock, "stop", "").sort()).toEqual(["db", "web", "worker"]);
    expect(complete("-s", sock, "restart", "w").sort()).toEqual(["web", "worker"]);
    expect(complete("status", "-s", sock, "wo")).toEqual(["worker"]);
    expect(complete("-s", sock, "status", "--")).toContain("--json");
    // A name already given does not stop the next from being completed.
    expect(complete("-s", sock, "start", "web", "d")).toEqual(["db"]);
  });

  test("each command's flags, read from the binary's usage synopsis", () => {
    const synopsis = USAGE.slice(0, USAGE.indexOf("\n\n"));
    for (const command of CLIENT_COMMANDS) {
      const line = synopsis.split("\n").find((l) => new RegExp(`[\\] |]${command}([\\] |]|$)`).test(l));
      const flags = line === undefined ? [] : [...new Set(line.slice(line.indexOf(command) + command.length).match(/-[-a-zA-Z]+/g) ?? [])].sort();
      expect(`${command}: ${complete("-s", sock, command, "-").sort().join(" ")}`).toBe(`${command}: ${flags.join(" ")}`);
    }
    expect(complete("-s", sock, "status", "--j")).toEqual(["--json"]);
  });

  test("signal: a signal name first, then job names", () => {
    expect(complete("-s", sock, "signal", "US")).toEqual(["USR1", "USR2"]);
    expect(complete("-s", sock, "signal", "HUP", "d")).toEqual(["db"]);
  });

  test("no pmtr running on the socket: no names, no error", () => {
    expect(complete("-s", join(dir, "none.sock"), "stop", "")).toEqual([]);
  });
});
