import { describe, expect, test } from "bun:test";
import { envStrings, jobEnvironment, shownPath } from "../../../src/os/spawn/job-env.ts";

describe("jobEnvironment", () => {
  const base = { PATH: "/bin", HOME: "/root", USER: "root", GONE: undefined };
  const nobody = { name: "nobody", home: "/nonexistent", shell: "/usr/sbin/nologin" };

  test("pmtr's environment plus the job's entries, in order; a later entry wins in place", () => {
    const env = jobEnvironment(base, ["A=1", "PATH=/opt/bin", "A=2", "EMPTY=", "EQ=a=b"], null);
    expect(envStrings(env)).toEqual(["PATH=/opt/bin", "HOME=/root", "USER=root", "A=2", "EMPTY=", "EQ=a=b"]);
  });

  test("with a user: HOME, USER, LOGNAME and SHELL of that user", () => {
    expect(Object.fromEntries(jobEnvironment(base, [], nobody))).toEqual({
      PATH: "/bin", HOME: "/nonexistent", USER: "nobody", LOGNAME: "nobody", SHELL: "/usr/sbin/nologin",
    });
  });

  test("unless the job's env sets them", () => {
    const env = jobEnvironment(base, ["HOME=/srv", "SHELL=/bin/sh"], nobody);
    expect([env.get("HOME"), env.get("SHELL"), env.get("USER")]).toEqual(["/srv", "/bin/sh", "nobody"]);
  });
});

describe("shownPath", () => {
  test("paths are shown as the job resolves them, not normalised", () => {
    expect(shownPath("/data", "out.log")).toBe("/data/out.log");
    expect(shownPath("/", "out.log")).toBe("/out.log");
    expect(shownPath("/data", "../x")).toBe("/data/../x");
    expect(shownPath("/data", "/var/log/x")).toBe("/var/log/x");
  });
});
