// Every error of SPEC §2, each with the exact line of the offending token and its message.

import { describe, expect, test } from "bun:test";
import { formatErrors, parseConfig } from "../../../src/config/index.ts";
import { MAX_ERRORS } from "../../../src/config/errors.ts";
import { errorsOf, inJob } from "./helpers.ts";

const FLAGS = "-c -d -e -f -i -l -m -n -q -r -s -t -u -v or an RLIMIT_* name such as RLIMIT_NOFILE";
const KEYWORDS = "name cmd dir out err in user env nice cpu ulimit bounce depends order wait once disable restart backoff stable give stop ready after check rotate on instances";

type Case = [what: string, text: string, errors: [line: number, message: string][]];

function table(cases: Case[]): void {
  test.each(cases)("%s", (_what, text, expected) => {
    expect(errorsOf(text).map((e) => [e.line, e.message])).toEqual(expected);
  });
}

describe("statements inside a job (extra lines start at line 4)", () => {
  table([
    ["unknown keyword", inJob("bogus 1"), [[4, `unknown keyword "bogus" (expected one of ${KEYWORDS})`]]],
    ["keywords are case-sensitive", inJob("Nice 1"), [[4, `unknown keyword "Nice" (expected one of ${KEYWORDS})`]]],
    ["a quoted keyword is not a keyword", inJob("wait", '"nice" 1'), [[5, `unknown keyword "nice" (expected one of ${KEYWORDS})`]]],
    ...["constructor", "__proto__", "toString", "hasOwnProperty"].map(
      (word): Case => [`${word} is not a keyword`, inJob(`${word} x`), [[4, `unknown keyword "${word}" (expected one of ${KEYWORDS})`]]],
    ),
    ["an Object.prototype name is not a ulimit flag", inJob("ulimit constructor 1"), [[4, `unknown ulimit flag "constructor" (expected one of ${FLAGS})`]]],
    ["a line continuing cmd, as upstream allowed", inJob().replace("cmd /bin/true", "cmd /bin/echo -a\n   -b c"), [
      [4, `unknown keyword "-b" (expected one of ${KEYWORDS}; if this continues the cmd on the line above, join the two lines: a statement cannot span lines)`],
    ]],
    ["a quoted word continuing cmd", inJob().replace("cmd /bin/true", 'cmd /bin/echo\n"a b"'), [
      [4, `unknown keyword "a b" (expected one of ${KEYWORDS}; if this continues the cmd on the line above, join the two lines: a statement cannot span lines)`],
    ]],
    ["a lone {", inJob("{"), [[4, `unknown keyword "{" (expected one of ${KEYWORDS}; { belongs at the end of the line that opens the block)`]]],
    ["name twice", inJob("name k"), [[4, "name given twice in this job (first on line 2)"]]],
    ["cmd twice", inJob("cmd /bin/false"), [[4, "cmd given twice in this job (first on line 3)"]]],
    ...["dir /a", "out a", "err a", "in a", "user a", "nice 1", "order 1", "cpu 1", "bounce every 1s"].map(
      (line): Case => [`${line.split(" ")[0]} twice`, inJob(line, line), [[5, `${line.split(" ")[0]} given twice in this job (first on line 4)`]]],
    ),
    ["name without value", inJob().replace("name j", "name"), [[2, "name takes one value, got nothing (expected: name NAME)"]]],
    ["name with a space", inJob().replace("name j", "name my job"), [[2, 'name takes one value, got 2 words: "my" "job" (expected: name NAME)']]],
    ["a name with a no-break space", inJob().replace("name j", "name my\u00a0job"), [[2, 'name "my\u00a0job" contains whitespace or invisible characters (use letters, digits, - or _)']]],
    ["a name with a zero-width space", inJob().replace("name j", "name my\u200bjob"), [[2, 'name "my\u200bjob" contains whitespace or invisible characters (use letters, digits, - or _)']]],
    ["quoted name", inJob().replace("name j", 'name "my job"'), [[2, 'quotes are only allowed in cmd arguments and env values (found "my job" after name)']]],
    ["cmd without program", inJob().replace("cmd /bin/true", "cmd"), [[3, "cmd needs a program (expected: cmd /path/to/program ARGS)"]]],
    ["relative cmd", inJob().replace("cmd /bin/true", "cmd demux -v"), [[3, 'cmd "demux" is not an absolute path (pmtr does not search PATH: write the full path, e.g. /usr/bin/demux)']]],
    ["relative cmd with a slash", inJob().replace("cmd /bin/true", "cmd ./demux"), [[3, 'cmd "./demux" is not an absolute path (pmtr does not search PATH: write the full path, e.g. /usr/bin/prog)']]],
    ["empty cmd", inJob().replace("cmd /bin/true", 'cmd ""'), [[3, 'cmd "" is not an absolute path (pmtr does not search PATH: write the full path, e.g. /usr/bin/prog)']]],
    ["relative dir", inJob("dir data"), [[4, 'dir "data" is not an absolute path (it must start with /)']]],
    ["dir with two words", inJob("dir /a /b"), [[4, 'dir takes one value, got 2 words: "/a" "/b" (expected: dir /absolute/dir)']]],
    ["quoted dir", inJob('dir "/my dir"'), [[4, 'quotes are only allowed in cmd arguments and env values (found "/my dir" after dir)']]],
    ["out without value", inJob("out"), [[4, "out takes one value, got nothing (expected: out FILE)"]]],
    ["user with a group", inJob("user 1000:1000"), [[4, 'user "1000:1000": give a user name or a numeric uid (a group cannot be given: the job runs with that user\'s own gid and groups, e.g. user 1000)']]],
    ["user name with a group", inJob("user a:b"), [[4, 'user "a:b": give a user name or a numeric uid (a group cannot be given: the job runs with that user\'s own gid and groups, e.g. user a)']]],
    ["user starting with -", inJob("user -x"), [[4, 'user "-x" is not a user name or numeric uid']]],
    ["env without =", inJob("env FOO"), [[4, 'env "FOO" has no "=" (expected VAR=VALUE)']]],
    ["env with empty name", inJob("env =x"), [[4, 'env variable name "" is not valid (expected letters, digits and _, not starting with a digit)']]],
    ["env with bad name", inJob("env 1X=y"), [[4, 'env variable name "1X" is not valid (expected letters, digits and _, not starting with a digit)']]],
    ["env with an unquoted space", inJob("env A=hello world"), [[4, 'env takes one value, got 2 words: "A=hello" "world" (expected: env VAR=VALUE (VAR="a b" for spaces))']]],
    ["nice too high", inJob("nice 99"), [[4, "nice 99 is out of range -20..19"]]],
    ["nice too low", inJob("nice -21"), [[4, "nice -21 is out of range -20..19"]]],
    ["nice not a number", inJob("nice high"), [[4, 'nice "high" is not an integer (expected -20..19)']]],
    ["nice fraction", inJob("nice 1.5"), [[4, 'nice "1.5" is not an integer (expected -20..19)']]],
    ["order not a number", inJob("order first"), [[4, 'order "first" is not an integer (expected -2147483648..2147483647)']]],
    ["order too big", inJob("order 9999999999"), [[4, "order 9999999999 is out of range -2147483648..2147483647"]]],
    ["cpu garbage", inJob("cpu all"), [[4, 'cpu "all" is not a valid CPU list (expected a list such as 0,2-4 or a hex mask such as 0x15)']]],
    ["cpu trailing comma", inJob("cpu 0,"), [[4, 'cpu "0," is not a valid CPU list (expected a list such as 0,2-4 or a hex mask such as 0x15)']]],
    ["cpu open range", inJob("cpu 2-"), [[4, 'cpu "2-" is not a valid CPU list (expected a list such as 0,2-4 or a hex mask such as 0x15)']]],
    ["cpu reversed range", inJob("cpu 4-2"), [[4, "cpu range 4-2 is reversed (write 2-4)"]]],
    ["cpu too high", inJob("cpu 0,1024"), [[4, "cpu 1024 is out of range 0..1023"]]],
    ["cpu bad hex", inJob("cpu 0xZZ"), [[4, 'cpu "0xZZ" is not a hex mask (expected a list such as 0,2-4 or a hex mask such as 0x15)']]],
    ["cpu empty mask", inJob("cpu 0x0"), [[4, "cpu 0x0 selects no CPU (expected a list such as 0,2-4 or a hex mask such as 0x15)"]]],
    ["cpu mask beyond 1023", inJob(`cpu 0x1${"0".repeat(256)}`), [[4, `cpu "0x1${"0".repeat(45)}..." names CPU 1024, beyond the maximum 1023`]]],
    ["cpu with spaces", inJob("cpu 0, 2"), [[4, 'cpu takes one value, got 2 words: "0," "2" (expected: cpu 0,2-4 or cpu 0x15)']]],
    ["unknown ulimit flag", inJob("ulimit -Z 5"), [[4, `unknown ulimit flag "-Z" (expected one of ${FLAGS})`]]],
    ["unknown RLIMIT name", inJob("ulimit RLIMIT_FOO 5"), [[4, `unknown ulimit flag "RLIMIT_FOO" (expected one of ${FLAGS})`]]],
    ["ulimit -n unlimited", inJob("ulimit -n unlimited"), [[4, "ulimit -n cannot be unlimited (give a number such as 65536)"]]],
    ["ulimit RLIMIT_NOFILE infinity", inJob("ulimit RLIMIT_NOFILE infinity"), [[4, "ulimit RLIMIT_NOFILE cannot be infinity (give a number such as 65536)"]]],
    ["ulimit negative", inJob("ulimit -c -1"), [[4, 'ulimit -c value "-1" is not a number (expected a non-negative integer, unlimited or infinity)']]],
    ["ulimit huge", inJob("ulimit -c 99999999999999999999"), [[4, 'ulimit -c value "99999999999999999999" is too large (use unlimited)']]],
    ["ulimit without value", inJob("ulimit -n"), [[4, "ulimit takes a flag and a value, got 1 word (expected: ulimit -n 4096, or ulimit { on its own line)"]]],
    ["ulimit block bad line", inJob("ulimit {", "-n", "-Z 1", "-c 5", "}"), [
      [5, 'ulimit block line "-n" is not FLAG VALUE (e.g. -n 4096)'],
      [6, `unknown ulimit flag "-Z" (expected one of ${FLAGS})`],
    ]],
    ["ulimit block never closed", inJob("ulimit {", "-n 5", "nice 1"), [[4, "ulimit { is never closed (add } on its own line)"]]],
    ["ulimit { with more on the line", inJob("ulimit { -n 5"), [[4, "ulimit takes a flag and a value, got 3 words (expected: ulimit -n 4096, or ulimit { on its own line)"]]],
    ["bounce without unit", inJob("bounce every 10"), [[4, "bounce every 10 needs a unit: s, m, h or d (e.g. 10s)"]]],
    ["bounce zero", inJob("bounce every 0m"), [[4, "bounce every 0m must be positive"]]],
    ["bounce unknown unit", inJob("bounce every 5w"), [[4, 'bounce every "5w" is not a duration (expected a positive integer and a unit s, m, h or d, e.g. 12h)']]],
    ["bounce negative", inJob("bounce every -5s"), [[4, 'bounce every "-5s" is not a duration (expected a positive integer and a unit s, m, h or d, e.g. 12h)']]],
    ["bounce too long", inJob("bounce every 366d"), [[4, "bounce every 366d is longer than the maximum of 365d"]]],
    ["bounce without every", inJob("bounce 5s"), [[4, 'bounce must be written bounce every N[smhd], e.g. bounce every 12h (got "5s")']]],
    ["depends on one line", inJob("depends /etc/x"), [[4, "depends must be followed by { on the same line, then one entry per line and } on its own line"]]],
    ["depends relative path", inJob("depends {", "/ok rel", "}"), [[5, 'depends file "rel" is not an absolute path (it must start with /)']]],
    ["depends quoted path", inJob("depends {", '"/a b"', "}"), [[5, 'quotes are not allowed in a depends block (found "/a b")']]],
    ["depends never closed", inJob("depends {", "/a", "cmd /bin/x"), [
      [4, "depends { is never closed (add } on its own line)"],
      [6, "cmd given twice in this job (first on line 3)"],
    ]],
    ["wait with a value", inJob("wait 5"), [[4, 'wait takes no value (got "5")']]],
    ["once with a value", inJob("once yes"), [[4, 'once takes no value (got "yes")']]],
    ["disable with a value", inJob("disable now"), [[4, 'disable takes no value (got "now")']]],
    ["report to inside a job", inJob("report to udp://127.0.0.1:1"), [[4, "report to is a global setting: move it outside the job block"]]],
    ["listen on inside a job", inJob("listen on udp://127.0.0.1:1"), [[4, "listen on is a global setting: move it outside the job block"]]],
    ["unterminated quote", inJob('env A="x'), [[4, 'unterminated quote: "x (add the closing " on the same line)']]],
    ["control character", inJob("env A=\x01"), [[4, "control character U+0001 in the line (the configuration must be plain text)"]]],
  ]);
});

describe("jobs", () => {
  table([
    ["missing name", "job {\n  cmd /bin/true\n}\n", [[1, "job has no name (add: name NAME)"]]],
    ["missing cmd", "job {\n  name a\n}\n", [[1, 'job "a" has no cmd (add: cmd /path/to/program ARGS)']]],
    ["empty job", "\n\njob {\n}\n", [[3, "job has no name (add: name NAME)"], [3, "job has no cmd (add: cmd /path/to/program ARGS)"]]],
    ["an invalid cmd is not also missing", "job {\n name a\n cmd x\n}", [[3, 'cmd "x" is not an absolute path (pmtr does not search PATH: write the full path, e.g. /usr/bin/x)']]],
    ["duplicate job name", `${inJob()}${inJob()}`, [[6, 'duplicate job name "j" (first used on line 2)']]],
    ["duplicate job name, three times", `${inJob()}${inJob()}${inJob()}`, [
      [6, 'duplicate job name "j" (first used on line 2)'],
      [10, 'duplicate job name "j" (first used on line 2)'],
    ]],
    ["duplicate name of a job that has other errors", "job {\n name a\n}\njob {\n name a\n cmd /bin/true\n}", [
      [1, 'job "a" has no cmd (add: cmd /path/to/program ARGS)'],
      [5, 'duplicate job name "a" (first used on line 2)'],
    ]],
    ["job without {", "job\n  name a\n  cmd /bin/true\n}\n", [[1, "job must be followed by { on the same line (job {)"]]],
    ["{ on the next line", "job\n{\n  name a\n  cmd /bin/true\n}\n", [
      [1, "job must be followed by { on the same line (job {)"],
      [2, `unknown keyword "{" (expected one of ${KEYWORDS}; { belongs at the end of the line that opens the block)`],
    ]],
    ["job with a name before {", "job web {\n  name web\n  cmd /bin/true\n}\n", [[1, 'job takes no name here: write "job {" and then "name web" inside the block']]],
    ["statement after {", "job { name a\n  cmd /bin/true\n}\n", [[1, 'nothing may follow "job {" on its line (found "name": put it on the next line)']]],
    ["} with more on its line", "job {\n  name a\n  cmd /bin/true\n} job {\n", [[4, '} must be on its own line (found "job" after it)']]],
    ["} at the end of a statement is a word", "job {\n  name a\n  cmd /bin/true }\n", [[1, "job { is never closed (add } on its own line)"]]],
    ["nested job", "job {\n  name a\n  cmd /bin/true\njob {\n  name b\n  cmd /bin/true\n}\n", [[1, "job { is never closed (add } before the next job)"]]],
    ["unclosed job at the end", `${inJob()}\njob {\n  name b\n  cmd /bin/true\n`, [[6, "job { is never closed (add } on its own line)"]]],
    ["unmatched }", `${inJob()}}\n`, [[5, "unmatched } (no block is open here)"]]],
  ]);
});

describe("outside jobs", () => {
  table([
    ["text outside a job", "hello world\n", [[1, 'unknown keyword "hello" outside a job (expected job {, report to, listen on, metrics on or include)']]],
    ["a job keyword outside a job", "\nname a\n", [[2, "name is only allowed inside a job { } block"]]],
    ["report without to", "report udp://127.0.0.1:1\n", [[1, 'report must be written report to udp://HOST:PORT[@IFACE] (got "report udp://127.0.0.1:1")']]],
    ["listen with extra words", "listen on udp://127.0.0.1:1 now\n", [[1, 'listen must be written listen on udp://HOST:PORT (got "listen on udp://127.0.0.1:1 now")']]],
    ["listen on twice", "listen on udp://127.0.0.1:1\nlisten on udp://127.0.0.1:2\n", [[2, "listen on given twice (first on line 1)"]]],
    ["report to tcp", "report to tcp://127.0.0.1:1", [[1, 'report to "tcp://127.0.0.1:1" is not a udp://HOST:PORT[@IFACE] address']]],
    ["listen on without port", "listen on udp://127.0.0.1", [[1, 'listen on "udp://127.0.0.1" is not a udp://HOST:PORT address']]],
    ["port zero", "listen on udp://127.0.0.1:0", [[1, 'listen on port "0" is out of range 1..65535']]],
    ["port too big", "report to udp://127.0.0.1:70000", [[1, 'report to port "70000" is out of range 1..65535']]],
    ["port not a number", "report to udp://127.0.0.1:http", [[1, 'report to port "http" is out of range 1..65535']]],
    ["bad IPv4", "report to udp://256.1.1.1:5", [[1, 'report to host "256.1.1.1" is not a valid IPv4 address']]],
    ["bad host", "report to udp://a_b:5", [[1, 'report to host "a_b" is not an IP address or host name']]],
    ["listen on with @IFACE", "listen on udp://127.0.0.1:5@eth0", [[1, 'listen on takes no @IFACE (only report to does): "udp://127.0.0.1:5@eth0"']]],
    ["bad interface", "report to udp://239.0.0.1:5@this-name-is-too-long", [[1, 'report to interface "this-name-is-too-long" is not an interface name']]],
  ]);
});

describe("every error at once", () => {
  test("errors from all over the file, sorted by line", () => {
    const text = ["bogus", "job {", "  name a", "  nice 99", "  cmd rel", "  ulimit -Z 1", "}", "job {", "  name a", "  cmd /bin/true", "  cpu 9-1", "}", "}"].join("\n");
    expect(formatErrors("pmtr.conf", errorsOf(text))).toEqual([
      'pmtr.conf:1: unknown keyword "bogus" outside a job (expected job {, report to, listen on, metrics on or include)',
      "pmtr.conf:4: nice 99 is out of range -20..19",
      'pmtr.conf:5: cmd "rel" is not an absolute path (pmtr does not search PATH: write the full path, e.g. /usr/bin/rel)',
      `pmtr.conf:6: unknown ulimit flag "-Z" (expected one of ${FLAGS})`,
      'pmtr.conf:9: duplicate job name "a" (first used on line 3)',
      "pmtr.conf:11: cpu range 9-1 is reversed (write 1-9)",
      "pmtr.conf:13: unmatched } (no block is open here)",
    ]);
  });

  test("a duplicate name is reported even when the jobs have other errors", () => {
    const errors = errorsOf(`${inJob("nice 50")}${inJob()}`);
    expect(errors.map((e) => e.line)).toEqual([4, 7]);
  });

  test(`past ${MAX_ERRORS} errors, one line says how many more`, () => {
    const errors = errorsOf("bogus\n".repeat(250));
    expect(errors).toHaveLength(MAX_ERRORS + 1);
    expect(errors[MAX_ERRORS - 1]?.line).toBe(MAX_ERRORS);
    expect(errors[MAX_ERRORS]).toEqual({ line: 0, message: "150 more errors not shown (is this the right file?)" });
  });

  test.each([
    "name X", "name a\nname X", "cmd X", "dir X", "out X Y", "user X", "env X", "env X=1", "nice X", "order X", "cpu X", "cpu 0xX",
    "cpu 0x0X", "cpu 5-X", "cpu X-1", "ulimit -n X", "ulimit X 1", "ulimit { X", "bounce every X", "bounce every Xs", "bounce X",
    "depends {\nX", "wait X", "job X {", "report to X", "report to udp://X:1", "X",
  ])("every message stays short when the value is huge: %s", (template) => {
    for (const fill of ["9", "a", "0", "-"]) {
      const statement = template.replaceAll("X", fill.repeat(100_000)).replaceAll("Y", fill.repeat(100_000));
      for (const text of [inJob(statement), `${statement}\n`]) {
        const result = parseConfig(text);
        // The bound allows for the list of every keyword in an unknown-keyword message.
        if (!result.ok) for (const e of result.errors) expect(e.message.length).toBeLessThan(400);
      }
    }
  });

  test.each(["user", "dir", "env", "out", "wait"])("a %s statement of 500 000 words makes a short message, its first words shown", (keyword) => {
    const errors = errorsOf(inJob(`${keyword}${" a".repeat(500_000)}`));
    expect(errors.every((e) => e.message.length < 300)).toBe(true);
    if (keyword !== "wait") expect(errors.map((e) => e.message)).toContainEqual(expect.stringContaining('got 500000 words: "a" "a" "a" "a" ... (expected: '));
  });

  test("a long value is cut short in the message", () => {
    const [error] = errorsOf(`x${"a".repeat(9 * 1024 * 1024)}\n`);
    expect(error?.message).toBe(`unknown keyword "x${"a".repeat(47)}..." outside a job (expected job {, report to, listen on, metrics on or include)`);
  });
});

describe("formatErrors", () => {
  test("FILE:LINE: message, the path as given; line 0 is the whole file", () => {
    expect(formatErrors("../etc/p.conf", [{ line: 3, message: "m" }, { line: 0, message: "w" }])).toEqual(["../etc/p.conf:3: m", "../etc/p.conf: w"]);
  });

  test("the SPEC §7 wording of an unknown keyword is a prefix of ours", () => {
    const result = parseConfig(inJob("bogus"));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(formatErrors("pmtr.conf", result.errors)[0]).toStartWith('pmtr.conf:4: unknown keyword "bogus"');
  });
});
