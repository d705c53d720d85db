// `env file` read at start (src/os/config/env-files.ts) against real files: order before `env`,
// reasons with FILE:LINE, the root-only rule for root jobs. These tests run as root.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeJob } from "../../../src/config/defaults.ts";
import { withEnvFiles } from "../../../src/os/config/env-files.ts";
import { tempDir } from "../../helpers.ts";

const dir = tempDir("pmtr-env-files-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string, mode = 0o600): string {
  const path = join(dir, `e${n++}`);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

const job = (envFiles: string[], extra: Partial<Parameters<typeof makeJob>[0]> = {}) => makeJob({ name: "j", argv: ["/bin/true"], envFiles, env: ["B=job"], ...extra });

describe("withEnvFiles", () => {
  test("no env file: the job itself", () => {
    const j = job([]);
    expect(withEnvFiles(j, true)).toEqual({ ok: true, job: j });
  });

  test("entries of every file in order, then the job's env (which wins)", () => {
    const a = file("A=1\nB=file\n");
    const b = file("export C='x y'\n");
    const r = withEnvFiles(job([a, b]), true);
    expect(r.ok && r.job.env).toEqual(["A=1", "B=file", "C=x y", "B=job"]);
  });

  test("a missing file fails with its path", () => {
    const path = join(dir, "missing");
    expect(withEnvFiles(job([path]), true)).toEqual({ ok: false, error: `${path}: cannot read: no such file` });
  });

  test("a malformed line fails with FILE:LINE and no value", () => {
    const path = file("A=1\nTOKEN='hunter2\n");
    const r = withEnvFiles(job([path]), true);
    expect(r).toEqual({ ok: false, error: `${path}:2: TOKEN: unterminated ' quote (close it on the same line) (the value is not shown, as it may be a secret)` });
  });

  test("a directory is not an env file", () => {
    expect(withEnvFiles(job([dir]), true)).toEqual({ ok: false, error: `${dir}: not a regular file` });
  });

  describe("root jobs under a root pmtr", () => {
    test("a file others may write is refused, with the fix", () => {
      const path = file("A=1\n", 0o646);
      expect(withEnvFiles(job([path]), true)).toEqual({
        ok: false,
        error: `${path}: refusing an env file writable by others (mode 0646): the job runs as root and would take its environment from it (fix: chmod go-w ${path})`,
      });
    });

    test("a file owned by another user is refused", () => {
      const path = file("A=1\n", 0o600);
      chownSync(path, 65534, 65534);
      const r = withEnvFiles(job([path]), true);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain("owned by uid 65534, not root");
    });

    test("the same file is accepted for a job with another user, or when pmtr is not root", () => {
      const path = file("A=1\n", 0o646);
      expect(withEnvFiles(job([path], { user: "nobody" }), true).ok).toBe(true);
      expect(withEnvFiles(job([path]), false).ok).toBe(true);
      expect(withEnvFiles(job([path], { user: "root" }), true).ok).toBe(false);
    });
  });
});
