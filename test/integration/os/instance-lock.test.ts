// acquireInstanceLock against the real kernel: flock on SOCKET.lock, in one process (a second
// open file description is refused like another process would be).

import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireInstanceLock, lockPath } from "../../../src/os/self/instance-lock.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function socketIn(): string {
  const dir = mkdtempSync(join(tmpdir(), "pmtr-lock-"));
  dirs.push(dir);
  return join(dir, "pmtr.sock");
}

test("held: the file names the holder; a second taker is told who; release removes it", () => {
  const sock = socketIn();
  const first = acquireInstanceLock(sock, 4242);
  if (!first.ok) throw new Error(first.message);
  expect(first.path).toBe(`${sock}.lock`);
  expect(readFileSync(lockPath(sock), "utf8")).toBe("4242\n");
  expect(acquireInstanceLock(sock, 5353)).toEqual({ ok: false, message: `another pmtr [4242] is running on ${sock} (stop it first, or give this pmtr another control socket with -s)` });
  first.release();
  expect(existsSync(lockPath(sock))).toBe(false);
  const again = acquireInstanceLock(sock, 5353);
  expect(again.ok).toBe(true);
  if (again.ok) again.release();
});

test("a leftover lock file nobody holds (pmtr was killed) is taken over", () => {
  const sock = socketIn();
  writeFileSync(lockPath(sock), "999999\n");
  const lock = acquireInstanceLock(sock, 77);
  expect(lock.ok).toBe(true);
  expect(readFileSync(lockPath(sock), "utf8")).toBe("77\n");
  if (lock.ok) lock.release();
});

test("a symlink planted at the lock path is not followed", () => {
  const sock = socketIn();
  const victim = `${sock}.victim`;
  writeFileSync(victim, "precious\n");
  symlinkSync(victim, lockPath(sock));
  const lock = acquireInstanceLock(sock, 77);
  expect(lock.ok).toBe(false);
  if (!lock.ok) expect(lock.message).toStartWith(`cannot open lock file ${lockPath(sock)}: `);
  expect(readFileSync(victim, "utf8")).toBe("precious\n");
});

test("a directory that does not exist: one line naming the file and the fix", () => {
  const lock = acquireInstanceLock("/nonexistent-pmtr-dir/pmtr.sock", 1);
  expect(lock).toEqual({ ok: false, message: "cannot open lock file /nonexistent-pmtr-dir/pmtr.sock.lock: No such file or directory (check the directory, or give another control socket path with -s)" });
});
