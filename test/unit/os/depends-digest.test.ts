// The digest of `depends` files: content changes change it; unsafe files (as root) and files that
// are not regular are refused with one line naming the file and the fix, said once.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "bun";
import { REFUSED, type LogLevel } from "../../../src/core/ports.ts";
import { createDependsDigest, MAX_DIGEST_BYTES } from "../../../src/os/config/depends-digest.ts";

const dir = mkdtempSync(join(tmpdir(), "pmtr-depends-digest-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
/** The owner fault a file the test creates has when the tests do not run as root. */
const ownerFault = isRoot ? "" : `owned by uid ${process.getuid?.()}, not root, and `;
const ownerFix = (path: string) => (isRoot ? "" : `chown root ${path} && `);

function setup(enforceOwnership = true) {
  const lines: Array<[LogLevel, string]> = [];
  const digest = createDependsDigest({ enforceOwnership, log: (level, message) => lines.push([level, message]) });
  return { digest, lines };
}

let n = 0;
function file(content: string | Uint8Array, mode = 0o644): string {
  const path = join(dir, `f${n++}`);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

describe("createDependsDigest", () => {
  test("same content, same digest; other content, another; a missing file is null, silently", () => {
    const { digest, lines } = setup(false);
    const a = file("one\n");
    const first = digest(a);
    expect(typeof first).toBe("string");
    expect(digest(a)).toBe(first);
    writeFileSync(a, "two\n");
    expect(digest(a)).not.toBe(first);
    expect(digest(join(dir, "nope"))).toBeNull();
    expect(lines).toEqual([]);
  });

  test("a file over the bound is hashed by its first part and its size: a change of size shows", () => {
    const { digest } = setup(false);
    const big = file(new Uint8Array(MAX_DIGEST_BYTES + 10));
    const before = digest(big);
    writeFileSync(big, new Uint8Array(MAX_DIGEST_BYTES + 11));
    expect(digest(big)).not.toBe(before);
  });

  test("as root: writable by others is refused with the fix, logged once until it changes", () => {
    const { digest, lines } = setup(true);
    const path = file("x\n", 0o646);
    expect(digest(path)).toBe(REFUSED);
    expect(digest(path)).toBe(REFUSED);
    expect(lines).toEqual([
      ["err", `${path}: refusing a depends file ${ownerFault}writable by others (mode 0646): pmtr runs as root, and whoever may change it would restart the jobs that depend on it (fix: ${ownerFix(path)}chmod go-w ${path})`],
    ]);
    chmodSync(path, 0o644);
    if (isRoot) expect(typeof digest(path)).toBe("string");
    chmodSync(path, 0o664);
    expect(digest(path)).toBe(REFUSED);
    expect(lines).toHaveLength(2);
    expect(lines[1]![1]).toContain("writable by group (mode 0664)");
  });

  test("as root: another owner is refused; with a writable mode too, one line with both fixes", () => {
    const { digest, lines } = setup(true);
    const path = file("x\n", 0o666);
    const owner = isRoot ? 65534 : process.getuid?.();
    if (isRoot) chownSync(path, 65534, 65534);
    expect(digest(path)).toBe(REFUSED);
    expect(lines).toEqual([
      ["err", `${path}: refusing a depends file owned by uid ${owner}, not root, and writable by group and others (mode 0666): pmtr runs as root, and whoever may change it would restart the jobs that depend on it (fix: chown root ${path} && chmod go-w ${path})`],
    ]);
  });

  test("not as root: ownership is not checked", () => {
    const { digest, lines } = setup(false);
    const path = file("x\n", 0o666);
    if (isRoot) chownSync(path, 65534, 65534);
    expect(typeof digest(path)).toBe("string");
    expect(lines).toEqual([]);
  });

  test("a FIFO (which would block), a device that never ends, a directory: refused, never read", () => {
    const { digest, lines } = setup(false);
    const fifo = join(dir, "fifo");
    expect(spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const sub = join(dir, "sub");
    mkdirSync(sub);
    expect(digest(fifo)).toBe(REFUSED);
    expect(digest("/dev/zero")).toBe(REFUSED);
    expect(digest(sub)).toBe(REFUSED);
    expect(lines.map(([, m]) => m)).toEqual([
      `${fifo}: refusing a depends file that is a FIFO, not a regular file: pmtr compares a file's content (fix: list a regular file in depends)`,
      "/dev/zero: refusing a depends file that is a device, not a regular file: pmtr compares a file's content (fix: list a regular file in depends)",
      `${sub}: refusing a depends file that is a directory, not a regular file: pmtr compares a file's content (fix: list a regular file in depends)`,
    ]);
  });
});
