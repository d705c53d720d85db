// `pmtr -t` warnings (SPEC §15): what a valid file would fail on at run time, each as
// FILE:LINE: warning: ..., at the line of the keyword; the exit status stays 0; a clean file
// prints nothing; an invalid file prints its errors, not warnings.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join, rmSync, runPmtr, tempDir } from "../helpers.ts";

const dir = tempDir("pmtr-check-warnings-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pmtr -t warnings", () => {
  test("unknown user, missing dir, cmd missing or not executable, out/err directory missing, env file missing", async () => {
    const script = join(dir, "not-executable.sh");
    writeFileSync(script, "#!/bin/sh\n");
    chmodSync(script, 0o644);
    const path = join(dir, "w.conf");
    writeFileSync(path, [
      "job {",                                   // 1
      "  name a",                                // 2
      "  cmd /nonexistent/prog --flag",          // 3
      "  user no-such-user-pmtr",                // 4
      "  dir /nonexistent-dir",                  // 5
      "  out /nonexistent-logs/a.log",           // 6
      `  env file ${dir}/missing.env`,           // 7
      "}",                                       // 8
      "job {",                                   // 9
      "  name b",                                // 10
      `  cmd ${script}`,                         // 11
      `  dir ${dir}`,                            // 12
      "  err logs/b.err",                        // 13
      "  instances 3",                           // 14
      "}",                                       // 15
      "job {",                                   // 16
      "  name fine",                             // 17
      "  cmd /bin/sleep 1",                      // 18
      `  dir ${dir}`,                            // 19
      "  out fine.log",                          // 20
      "}",
      "",
    ].join("\n"));
    const { code, stdout, stderr } = await runPmtr(["-t", "-c", path]);
    expect({ code, stdout }).toEqual({ code: 0, stdout: "" });
    expect(stderr.trimEnd().split("\n")).toEqual([
      `${path}:3: warning: job a: cmd /nonexistent/prog does not exist`,
      `${path}:4: warning: job a: user no-such-user-pmtr does not exist (the job will fail to start)`,
      `${path}:5: warning: job a: dir /nonexistent-dir does not exist`,
      `${path}:6: warning: job a: out directory /nonexistent-logs does not exist`,
      `${path}:7: warning: job a: env file ${dir}/missing.env does not exist (the job will fail to start)`,
      // Once for the three instances.
      `${path}:11: warning: job b: cmd ${script} is not executable (mode 0644)`,
      `${path}:13: warning: job b: err directory ${dir}/logs does not exist`,
    ]);
  });

  test("as another user: a program only its owner may run is not executable by that user", async () => {
    const script = join(dir, "owner-only.sh");
    writeFileSync(script, "#!/bin/sh\n");
    chmodSync(script, 0o700);
    const path = join(dir, "u.conf");
    writeFileSync(path, `job {\n  name u\n  cmd ${script}\n  user nobody\n}\n`);
    const { code, stderr } = await runPmtr(["-t", "-c", path]);
    expect(code).toBe(0);
    expect(stderr).toBe(`${path}:3: warning: job u: cmd ${script} is not executable by user nobody (mode 0700)\n`);
  });

  test("a file whose jobs would all start prints nothing", async () => {
    mkdirSync(join(dir, "ok"), { recursive: true });
    const path = join(dir, "ok.conf");
    writeFileSync(path, `job {\n  name ok\n  cmd /bin/true\n  dir ${dir}/ok\n  out ok.log\n  user nobody\n}\n`);
    expect(await runPmtr(["-t", "-c", path])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("an invalid file: errors and the summary, no warnings", async () => {
    const path = join(dir, "bad.conf");
    writeFileSync(path, "job {\n  name bad\n  cmd /nonexistent\n  nice 99\n}\n");
    expect(await runPmtr(["-t", "-c", path])).toEqual({
      code: 1, stdout: "", stderr: `${path}:4: nice 99 is out of range -20..19\n${path}: parse failed: 1 error\n`,
    });
  });
});
