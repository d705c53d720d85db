// `pmtr -t -c FILE` as a whole process: silent and 0 on a valid file, one line per job with
// -v, every error and 1 on an invalid one; and no input, however broken, crashes it, hangs it
// or prints a stack trace. Fixtures are copied into a fresh directory first, so the file is
// owned by whoever runs the test (root-owned when run as root, as the ownership rule needs).

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describeJob, parseConfig } from "../../src/config/index.ts";
import { FIXTURES, PMTR, runPmtr, tempDir } from "../helpers.ts";

const dir = tempDir("pmtr-check-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

function fixture(name: string): string {
  const path = join(dir, name);
  copyFileSync(join(FIXTURES, "configs", name), path);
  chmodSync(path, 0o644);
  return path;
}

function write(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, 0o644);
  return path;
}

/** Every line of stderr is one of ours (names the file): no stack trace, no runtime noise. */
function expectOnlyOurLines(stderr: string, path: string): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line.startsWith(`${path}:`)).toBe(true);
  expect(stderr).not.toMatch(/^\s+at |\bBun v\d|panic|Unhandled|TypeError|RangeError/m);
}

/** Every line a `FILE:LINE: warning: ` line (SPEC §15), or nothing. */
function expectOnlyWarnings(stderr: string, path: string): void {
  for (const line of stderr.split("\n").filter(Boolean)) expect(line).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: warning: job \\S+: `));
}

describe("pmtr -t on a valid file", () => {
  test.each([["valid.conf"], ["crlf.conf"]])("%s: exit 0, prints nothing but warnings (its programs are not installed here)", async (name) => {
    const { code, stdout, stderr } = await runPmtr(["-t", "-c", fixture(name)]);
    expect({ code, stdout }).toEqual({ code: 0, stdout: "" });
    expectOnlyWarnings(stderr, fixture(name));
  });

  test("-v prints one line per job, in file order", async () => {
    const path = fixture("valid.conf");
    const { code, stdout, stderr } = await runPmtr(["-t", "-v", "-c", path]);
    expectOnlyWarnings(stderr, path);
    expect(code).toBe(0);
    const parsed = parseConfig(await Bun.file(path).text());
    if (!parsed.ok) throw new Error("fixture must be valid");
    expect(stdout).toBe(parsed.config.jobs.map((j) => `${describeJob(j)}\n`).join(""));
    expect(stdout.split("\n").filter(Boolean).map((l) => l.split(":")[0])).toEqual(["demux", "doppler", "setup"]);
  });

  test("-v on 20 000 jobs into a pipe that is read only later: every line arrives, exit 0", async () => {
    const path = write("many.conf", Array.from({ length: 20_000 }, (_, i) => `job {\n  name j${i}\n  cmd /bin/true\n}\n`).join(""));
    // The reader starts after pmtr has written everything it could: what the pipe did not take
    // at once must still come (it was dropped at exit: 64 KiB of 300 KiB arrived).
    const proc = Bun.spawn(["/bin/sh", "-c", 'status=$( { "$0" -t -v -c "$1"; echo $? > "$2"; } | { sleep 0.5; wc -l; } ); echo "$status $(cat "$2")"', PMTR, path, join(dir, "many.status")], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ out: out.trim(), err }).toEqual({ out: "20000 0", err: "" });
  });

  test("an empty file is valid (no jobs): exit 0, and -v prints nothing", async () => {
    const { code, stdout, stderr } = await runPmtr(["-t", "-v", "-c", write("empty.conf", "# nothing yet\n")]);
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("the shipped example is valid", async () => {
    const path = write("example.conf", await Bun.file(resolve(FIXTURES, "../../examples/pmtr.conf")).bytes());
    const { code, stdout, stderr } = await runPmtr(["-t", "-c", path]);
    expect({ code, stdout }).toEqual({ code: 0, stdout: "" });
    // Its jobs write under /tmp/pmtr-example, which `make run` creates.
    expectOnlyWarnings(stderr, path);
  });
});

describe("pmtr -t on an invalid file", () => {
  test("exit 1 and every error, FILE:LINE: message, sorted by line", async () => {
    const path = fixture("invalid.conf");
    const { code, stdout, stderr } = await runPmtr(["-t", "-c", path]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toEqual([
      `${path}:2: report to "tcp://127.0.0.1:9999" is not a udp://HOST:PORT[@IFACE] address`,
      `${path}:3: unknown keyword "bogus" outside a job (expected job {, report to, listen on, metrics on or include)`,
      `${path}:6: cmd "web-server" is not an absolute path (pmtr does not search PATH: write the full path, e.g. /usr/bin/web-server)`,
      `${path}:7: nice 99 is out of range -20..19`,
      `${path}:8: cpu range 4-2 is reversed (write 2-4)`,
      `${path}:9: unknown ulimit flag "-Z" (expected one of -c -d -e -f -i -l -m -n -q -r -s -t -u -v or an RLIMIT_* name such as RLIMIT_NOFILE)`,
      `${path}:10: ulimit -n cannot be unlimited (give a number such as 65536)`,
      `${path}:11: bounce every 10 needs a unit: s, m, h or d (e.g. 10s)`,
      `${path}:12: env "NOEQUALS" has no "=" (expected VAR=VALUE)`,
      `${path}:13: dir "relative/dir" is not an absolute path (it must start with /)`,
      `${path}:14: name given twice in this job (first on line 5)`,
      `${path}:15: report to is a global setting: move it outside the job block`,
      `${path}:18: duplicate job name "web" (first used on line 5)`,
      `${path}:19: unterminated quote: "unterminated (add the closing " on the same line)`,
      `${path}:21: job has no name (add: name NAME)`,
      `${path}:24: unmatched } (no block is open here)`,
      `${path}: parse failed: 16 errors`,
    ]);
  });

  test("the path is printed as given (relative)", async () => {
    write("rel.conf", "bogus\n");
    const proc = Bun.spawnSync([PMTR, "-t", "-c", "rel.conf"], { cwd: dir, stderr: "pipe", stdout: "pipe" });
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toStartWith('rel.conf:1: unknown keyword "bogus"');
  });

  test("a missing file: exit 1, one line, and no file is created", async () => {
    const path = join(dir, "missing.conf");
    const { code, stdout, stderr } = await runPmtr(["-t", "-c", path]);
    expect({ code, stdout, stderr }).toEqual({
      code: 1, stdout: "", stderr: `${path}: cannot read the configuration file: no such file (create it, or give another file with -c FILE)\n${path}: parse failed: 1 error\n`,
    });
    expect(existsSync(path)).toBe(false);
  });

  test("a directory: exit 1, one line", async () => {
    const path = join(dir, "a-directory");
    mkdirSync(path);
    const { code, stderr } = await runPmtr(["-t", "-c", path]);
    expect(code).toBe(1);
    expect(stderr).toBe(`${path}: is a directory, not a configuration file (give a file with -c FILE)\n${path}: parse failed: 1 error\n`);
  });

  test(isRoot ? "as root: a file others may write or another user owns is refused, with the fix" : "not root: ownership is not enforced", async () => {
    const path = fixture("valid.conf");
    chmodSync(path, 0o666);
    if (isRoot) chownSync(path, 65534, 65534);
    const { code, stderr } = await runPmtr(["-t", "-c", path]);
    if (!isRoot) {
      expect(code).toBe(0);
      return;
    }
    expect(code).toBe(1);
    expect(stderr.trimEnd().split("\n")).toEqual([
      `${path}: refusing a configuration file owned by uid 65534, not root: pmtr runs as root and would run its commands (fix: chown root ${path})`,
      `${path}: refusing a configuration file writable by group and others (mode 0666): pmtr runs as root and would run its commands (fix: chmod go-w ${path})`,
      `${path}: parse failed: 2 errors`,
    ]);
  });
});

describe("hostile input: exit 1 promptly, our own one-line errors only", () => {
  /** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
  function junk(size: number, seed: number): Uint8Array {
    const bytes = new Uint8Array(size);
    let x = seed;
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x & 0xff;
    }
    return bytes;
  }

  test.each<[string, () => string | Uint8Array, RegExp]>([
    ["binary junk", () => junk(64 * 1024, 12345), /: (contains a NUL byte on line \d+: not a text file|is not UTF-8 text)/],
    ["a 9 MiB line", () => `job {\n  name ${"a".repeat(9 * 1024 * 1024)}\n}\n`, /:1: job "a{48}\.\.\." has no cmd/],
    ["NUL bytes in otherwise valid text", () => "job {\n  name a\0\n  cmd /bin/true\n}\n", /: contains a NUL byte on line 2: not a text file/],
    ["deep nesting of job blocks", () => "job {\n".repeat(200_000), /:1: job \{ is never closed/],
    ["deep nesting of braces on one line", () => `job {\n  ulimit ${"{ ".repeat(1_000_000)}\n}\n`, /:2: ulimit takes a flag and a value/],
    ["a million words of job { on one line", () => "job { ".repeat(1_000_000), /:1: nothing may follow "job \{"/],
    ["a file over 10 MiB", () => "#".repeat(10 * 1024 * 1024 + 1), /: is 10\.0 MiB, over the 10 MiB limit/],
    ["an unterminated quote 1 MiB long", () => `job {\n  cmd /bin/echo "${"x".repeat(1024 * 1024)}\n}\n`, /:2: unterminated quote/],
  ])("%s", async (name, content, expected) => {
    const path = write(`${name.replaceAll(" ", "-")}.conf`, content());
    const { code, stdout, stderr } = await runPmtr(["-t", "-c", path], { timeoutMs: 20_000 });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(expected);
    expectOnlyOurLines(stderr.replace(/^.*more errors? not shown.*$/m, `${path}: summary`), path);
    // At most 100 errors, the "more" line and the parse-failed summary, whatever the file.
    expect(stderr.trimEnd().split("\n").length).toBeLessThanOrEqual(102);
    expect(stderr.trimEnd().split("\n").at(-1)).toMatch(/: parse failed: \d+ errors?$/);
  });
});
