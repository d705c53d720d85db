// readConfigFile (src/os/config/config-file.ts) against real files: the file-level checks that come
// before parsing. Kept beside the parser's tests because together they are the whole `-t`.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_CONFIG_BYTES, readConfigFile } from "../../../src/os/config/config-file.ts";
import { tempDir } from "../../helpers.ts";

const dir = tempDir("pmtr-config-file-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = "job {\n  name a\n  cmd /bin/true\n}\n";
let counter = 0;

function file(content: string | Uint8Array, mode = 0o644): string {
  const path = join(dir, `c${counter++}.conf`);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

/** The lines before the summary line, which every failure ends with (issue 16). */
function messages(path: string, enforceOwnership = false, rootGroupMembers = (): string[] => []): string[] {
  const result = readConfigFile(path, { enforceOwnership, rootGroupMembers });
  if (result.ok) throw new Error("expected a failure");
  const lines = result.messages.slice(0, -1);
  expect(result.messages.at(-1)).toBe(`${path}: parse failed: ${lines.length} error${lines.length === 1 ? "" : "s"}`);
  return lines;
}

describe("readConfigFile", () => {
  test("a valid file: the config and a content digest", () => {
    const path = file(GOOD);
    const result = readConfigFile(path, { enforceOwnership: false });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.jobs.map((j) => j.name)).toEqual(["a"]);
    expect(result.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  test("the digest follows the content, not the file: touch and copies keep it, an edit changes it", () => {
    const a = readConfigFile(file(GOOD), { enforceOwnership: false });
    const b = readConfigFile(file(GOOD), { enforceOwnership: false });
    const c = readConfigFile(file(`${GOOD}# edited\n`), { enforceOwnership: false });
    expect(a.digest).toBe(b.digest as string);
    expect(c.digest).not.toBe(a.digest as string);
  });

  test("parse errors come back formatted with the path as given, and the digest", () => {
    const path = file("job {\n  name a\n  nice 99\n}\n");
    const result = readConfigFile(path, { enforceOwnership: false });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.messages).toEqual([
      `${path}:1: job "a" has no cmd (add: cmd /path/to/program ARGS)`,
      `${path}:3: nice 99 is out of range -20..19`,
      `${path}: parse failed: 2 errors`,
    ]);
    expect(result.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a missing file: one line, and no file is created", () => {
    const path = join(dir, "missing.conf");
    expect(messages(path)).toEqual([`${path}: cannot read the configuration file: no such file (create it, or give another file with -c FILE)`]);
    expect(Bun.file(path).size).toBe(0);
  });

  test("a path through a file", () => {
    const path = join(file(GOOD), "x");
    expect(messages(path)).toEqual([`${path}: cannot read the configuration file: a component of the path is not a directory`]);
  });

  test("a symlink loop", () => {
    const path = join(dir, "loop");
    symlinkSync(path, path);
    expect(messages(path)).toEqual([`${path}: cannot read the configuration file: too many levels of symbolic links`]);
  });

  test("a directory", () => {
    const path = join(dir, "adir");
    mkdirSync(path);
    expect(messages(path)).toEqual([`${path}: is a directory, not a configuration file (give a file with -c FILE)`]);
  });

  test("a FIFO is refused without blocking", () => {
    const path = join(dir, "fifo");
    expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
    expect(messages(path)).toEqual([`${path}: is not a regular file (give a configuration file with -c FILE)`]);
  });

  test("a device such as /dev/zero is refused without reading it", () => {
    expect(messages("/dev/zero")).toEqual(["/dev/zero: is not a regular file (give a configuration file with -c FILE)"]);
  });

  test("exactly 10 MiB is read; one byte more is refused", () => {
    const line = "# padding\n";
    const fill = line.repeat(Math.floor(MAX_CONFIG_BYTES / line.length));
    const exact = fill + "#".repeat(MAX_CONFIG_BYTES - fill.length);
    expect(readConfigFile(file(exact), { enforceOwnership: false }).ok).toBe(true);
    expect(messages(file(`${exact}#`))).toEqual([`${join(dir, `c${counter - 1}.conf`)}: is 10.0 MiB, over the 10 MiB limit for a configuration file`]);
  });

  test("NUL bytes: not a text file, with the line", () => {
    const path = file(`${GOOD}\n\0\0\0`);
    expect(messages(path)).toEqual([`${path}: contains a NUL byte on line 6: not a text file`]);
  });

  test("invalid UTF-8, with the line", () => {
    const path = file(new Uint8Array([...Buffer.from("job {\n  name caf"), 0xe9, ...Buffer.from("\n}\n")]));
    expect(messages(path)).toEqual([`${path}: is not UTF-8 text (first invalid byte on line 2)`]);
  });

  test("UTF-8 with a byte-order mark and CRLF line ends is fine", () => {
    const path = file(`\uFEFF${GOOD.replaceAll("\n", "\r\n")}`);
    expect(readConfigFile(path, { enforceOwnership: false }).ok).toBe(true);
  });

  describe("ownership, when pmtr runs as root (these tests run as root)", () => {
    test("root-owned and mode 0644 or 0600 is accepted", () => {
      expect(readConfigFile(file(GOOD, 0o644), { enforceOwnership: true }).ok).toBe(true);
      expect(readConfigFile(file(GOOD, 0o600), { enforceOwnership: true }).ok).toBe(true);
    });

    test.each([
      [0o664, "group", "0664"],
      [0o646, "others", "0646"],
      [0o666, "group and others", "0666"],
    ])("mode %o is refused: writable by %s (group not root)", (mode, who, octal) => {
      const path = file(GOOD, mode);
      chownSync(path, 0, 1);
      expect(messages(path, true)).toEqual([
        `${path}: refusing a configuration file writable by ${who} (mode ${octal}): pmtr runs as root and would run its commands (fix: chmod go-w ${path})`,
      ]);
      expect(readConfigFile(path, { enforceOwnership: false }).ok).toBe(true);
    });

    test("group-writable by group root is accepted while the group has no member but root (upstream's 0664 root:root files)", () => {
      const path = file(GOOD, 0o664);
      chownSync(path, 0, 0);
      expect(readConfigFile(path, { enforceOwnership: true, rootGroupMembers: () => [] }).ok).toBe(true);
    });

    test("group-writable by group root is refused, naming the members, when the group has members", () => {
      const path = file(GOOD, 0o664);
      chownSync(path, 0, 0);
      expect(messages(path, true, () => ["alice", "bob"])).toEqual([
        `${path}: refusing a configuration file writable by group (mode 0664): pmtr runs as root and would run its commands; its group root has members besides root (alice, bob) (fix: chmod go-w ${path})`,
      ]);
    });

    test("writable by others is refused even when group root has no members", () => {
      const path = file(GOOD, 0o666);
      chownSync(path, 0, 0);
      expect(messages(path, true)).toEqual([
        `${path}: refusing a configuration file writable by others (mode 0666): pmtr runs as root and would run its commands (fix: chmod go-w ${path})`,
      ]);
    });

    test("owned by another user is refused; both problems are reported together", () => {
      const path = file(GOOD, 0o666);
      chownSync(path, 65534, 65534);
      expect(messages(path, true)).toEqual([
        `${path}: refusing a configuration file owned by uid 65534, not root: pmtr runs as root and would run its commands (fix: chown root ${path})`,
        `${path}: refusing a configuration file writable by group and others (mode 0666): pmtr runs as root and would run its commands (fix: chmod go-w ${path})`,
      ]);
    });

    test("the fix is shell-quoted when the path needs it", () => {
      const path = join(dir, "my conf");
      writeFileSync(path, GOOD);
      chmodSync(path, 0o646);
      expect(messages(path, true)[0]).toEndWith(`(fix: chmod go-w '${path}')`);
    });
  });
});
