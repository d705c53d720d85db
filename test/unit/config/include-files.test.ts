// `include GLOB` (SPEC §15) through readConfigFile against real files: which files are read,
// in what order, errors naming the included file and line, all or nothing, ownership.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readConfigFile, type LoadedConfig } from "../../../src/os/config/config-file.ts";
import { tempDir } from "../../helpers.ts";

const root = tempDir("pmtr-include-");
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh directory with a main file including d/*.conf, and the given files under d/. */
function setup(files: Record<string, string>, main = ""): { main: string; d: string } {
  const base = join(root, `t${counter++}`);
  const d = join(base, "d");
  mkdirSync(d, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  const path = join(base, "pmtr.conf");
  writeFileSync(path, `include ${d}/*.conf\n${main}`);
  return { main: path, d };
}

const job = (name: string, extra = ""): string => `job {\n  name ${name}\n  cmd /bin/true\n${extra}}\n`;

function ok(result: LoadedConfig) {
  if (!result.ok) throw new Error(result.messages.join("\n"));
  return result;
}

function failure(result: LoadedConfig): string[] {
  if (result.ok) throw new Error("expected a failure");
  return result.messages;
}

const read = (path: string, enforceOwnership = false) => readConfigFile(path, { enforceOwnership, rootGroupMembers: () => [] });

describe("include", () => {
  test("matching files are read in sorted order after the main file's jobs; files and includes are listed", () => {
    const { main, d } = setup({ "b.conf": job("b"), "a.conf": job("a1") + job("a2"), "c.txt": job("c") }, job("m"));
    const { config } = ok(read(main));
    expect(config.jobs.map((j) => j.name)).toEqual(["m", "a1", "a2", "b"]);
    expect(config.files).toEqual([main, join(d, "a.conf"), join(d, "b.conf")]);
    expect(config.includes).toEqual([`${d}/*.conf`]);
    expect(config.jobs.map((j) => ({ file: j.source.file, line: j.source.line }))).toEqual([
      { file: main, line: 2 }, { file: join(d, "a.conf"), line: 1 }, { file: join(d, "a.conf"), line: 5 }, { file: join(d, "b.conf"), line: 1 },
    ]);
  });

  test("a pattern that matches nothing, or whose directory is missing, is fine", () => {
    const { main } = setup({}, job("m"));
    expect(ok(read(main)).config.jobs).toHaveLength(1);
    const other = join(root, `t${counter++}.conf`);
    writeFileSync(other, `include ${root}/no-such-dir/*.conf\n${job("m")}`);
    expect(ok(read(other)).config.files).toEqual([other]);
  });

  test("hidden files (editor swap and lock files) and directories are not read", () => {
    const { main, d } = setup({ ".a.conf": "junk", "ok.conf": job("ok") });
    mkdirSync(join(d, "sub.conf"));
    expect(ok(read(main)).config.jobs.map((j) => j.name)).toEqual(["ok"]);
  });

  test("the main file is not read again when its own pattern matches it", () => {
    const path = join(root, `self${counter++}.conf`);
    writeFileSync(path, `include ${root}/self*.conf\n${job("m")}`);
    expect(ok(read(path)).config.jobs.map((j) => j.name)).toEqual(["m"]);
  });

  test("an error in an included file names that file and line; the summary names the main file", () => {
    const { main, d } = setup({ "a.conf": job("a"), "b.conf": job("b", "  nice 99\n") });
    expect(failure(read(main))).toEqual([`${join(d, "b.conf")}:4: nice 99 is out of range -20..19`, `${main}: parse failed: 1 error`]);
  });

  test("errors in several files are all reported, main file first", () => {
    const { main, d } = setup({ "a.conf": "bogus\n", "b.conf": job("b", "  nice x\n") }, "nope\n");
    expect(failure(read(main))).toEqual([
      `${main}:2: unknown keyword "nope" outside a job (expected job {, report to, listen on, metrics on or include)`,
      `${join(d, "a.conf")}:1: unknown keyword "bogus" outside a job (expected job {, report to, listen on, metrics on or include)`,
      `${join(d, "b.conf")}:4: nice "x" is not an integer (expected -20..19)`,
      `${main}: parse failed: 3 errors`,
    ]);
  });

  test("a duplicate name across files names both places", () => {
    const { main, d } = setup({ "a.conf": job("web"), "b.conf": `\n${job("web")}` });
    expect(failure(read(main))[0]).toBe(`${join(d, "b.conf")}:3: duplicate job name "web" (first used in ${join(d, "a.conf")}:2)`);
  });

  test("a duplicate of a main-file job names the main file", () => {
    const { main, d } = setup({ "a.conf": job("m") }, job("m"));
    expect(failure(read(main))[0]).toBe(`${join(d, "a.conf")}:2: duplicate job name "m" (first used in ${main}:3)`);
  });

  test("after may name a job of another file; a cycle across files names each file", () => {
    const good = setup({ "a.conf": job("a", "  after m\n") }, job("m"));
    expect(ok(read(good.main)).config.jobs[1]?.after).toEqual([{ name: "m", condition: "started" }]);
    const { main, d } = setup({ "a.conf": job("a", "  after m\n") }, job("m", "  after a\n"));
    expect(failure(read(main))[0]).toBe(`${main}:5: after a: the jobs wait for each other in a cycle: m after a (line 5), a after m (${join(d, "a.conf")}:4)`);
  });

  test("one level only: include and the other global settings are refused in an included file", () => {
    const { main, d } = setup({ "a.conf": `include /etc/pmtr.d/*.x\nreport to udp://127.0.0.1:1\n${job("a")}` });
    expect(failure(read(main))).toEqual([
      `${join(d, "a.conf")}:1: include is only allowed in the main configuration file (an included file holds job blocks only)`,
      `${join(d, "a.conf")}:2: report to is only allowed in the main configuration file (an included file holds job blocks only)`,
      `${main}: parse failed: 2 errors`,
    ]);
  });

  test("an included file that is not text is refused by name", () => {
    const { main, d } = setup({ "a.conf": "job {\0" });
    expect(failure(read(main))[0]).toBe(`${join(d, "a.conf")}: contains a NUL byte on line 1: not a text file`);
  });

  test("the digest covers the included files: adding, editing and removing one changes it", () => {
    const { main, d } = setup({ "a.conf": job("a") });
    const first = ok(read(main)).digest;
    expect(ok(read(main)).digest).toBe(first);
    writeFileSync(join(d, "b.conf"), job("b"));
    const added = ok(read(main)).digest;
    expect(added).not.toBe(first);
    writeFileSync(join(d, "b.conf"), job("b2"));
    const edited = ok(read(main)).digest;
    expect(edited).not.toBe(added);
    rmSync(join(d, "b.conf"));
    expect(ok(read(main)).digest).toBe(first);
  });

  describe("ownership as root (these tests run as root)", () => {
    test("an included file writable by others is refused", () => {
      const { main, d } = setup({ "a.conf": job("a") });
      chmodSync(join(d, "a.conf"), 0o646);
      expect(failure(read(main, true))[0]).toBe(
        `${join(d, "a.conf")}: refusing a configuration file writable by others (mode 0646): pmtr runs as root and would run its commands (fix: chmod go-w ${join(d, "a.conf")})`,
      );
    });

    test("a directory of included files that others may write is refused", () => {
      const { main, d } = setup({ "a.conf": job("a") });
      chmodSync(d, 0o777);
      expect(failure(read(main, true))[0]).toBe(
        `${d}: refusing a directory of included files writable by others (mode 0777): pmtr runs as root and would run its commands (fix: chmod go-w ${d})`,
      );
    });

    test("a directory owned by another user is refused", () => {
      const { main, d } = setup({ "a.conf": job("a") });
      chownSync(d, 65534, 0);
      expect(failure(read(main, true))[0]).toBe(
        `${d}: refusing a directory of included files owned by uid 65534, not root: pmtr runs as root and would run its commands (fix: chown root ${d})`,
      );
    });

    test("group-writable by group root with no other member is accepted, for files and directories", () => {
      const { main, d } = setup({ "a.conf": job("a") });
      chmodSync(d, 0o775);
      chmodSync(join(d, "a.conf"), 0o664);
      chownSync(d, 0, 0);
      chownSync(join(d, "a.conf"), 0, 0);
      expect(ok(read(main, true)).config.jobs).toHaveLength(1);
    });
  });
});

describe("reading again (reloads)", () => {
  test("an unchanged file read again gives the same result, errors across files included, never accumulated", () => {
    const { main, d } = setup({ "a.conf": job("web"), "b.conf": job("web") });
    const first = failure(read(main));
    expect(failure(read(main))).toEqual(first);
    expect(first).toHaveLength(2);
    writeFileSync(join(d, "b.conf"), job("other"));
    expect(ok(read(main)).config.jobs.map((j) => j.name)).toEqual(["web", "other"]);
    writeFileSync(join(d, "b.conf"), job("web"));
    expect(failure(read(main))).toEqual(first);
  });
});
