// One pmtr per control socket (SPEC §11). Whether another pmtr is there is decided by a lock
// it holds for its whole life, not by whether the socket file answers: with the socket file
// deleted (`rm /run/pmtr.sock`) a second pmtr used to run every job twice, overwrite the first
// one's job record and delete it on exit.
//
// The lock is flock(2) on PATH.lock beside the socket (/run/pmtr.sock.lock) and its job record.
// The kernel drops it when pmtr dies, however it dies, so a stale lock cannot exist; flock cannot
// say who holds it, so the holder writes its pid into the file for the message. The file is
// opened close-on-exec (Bun opens every file so): no job inherits it, or a job outliving a
// killed pmtr would keep the next one from starting.

import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync, constants } from "node:fs";
import { lockExclusive, osError } from "../libc.ts";

export type InstanceLock = { readonly ok: true; readonly path: string; release(): void } | { readonly ok: false; readonly message: string };

/** /run/pmtr.sock -> /run/pmtr.sock.lock */
export function lockPath(socketPath: string): string {
  return `${socketPath}.lock`;
}

/** Takes the lock for `socketPath` for this process (`pid`), or says which pmtr holds it. */
export function acquireInstanceLock(socketPath: string, pid: number): InstanceLock {
  const path = lockPath(socketPath);
  // A holder that exits unlinks the file while we may have it open: the lock we then get is on
  // a file nobody else will open again. Retry until the locked file is the one at `path`.
  for (let attempt = 0; attempt < 10; attempt++) {
    let fd: number;
    try {
      // O_NOFOLLOW: in a shared directory a symlink planted at PATH.lock must not make root
      // truncate the file it points to.
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      return { ok: false, message: `cannot open lock file ${path}: ${osError(e)} (check the directory, or give another control socket path with -s)` };
    }
    const locked = lockExclusive(fd);
    if (locked === "busy") {
      closeSync(fd);
      const holder = readHolder(path);
      return { ok: false, message: `another pmtr${holder === null ? "" : ` [${holder}]`} is running on ${socketPath} (stop it first, or give this pmtr another control socket with -s)` };
    }
    if (locked !== null) {
      closeSync(fd);
      return { ok: false, message: `cannot lock ${path}: ${locked}` };
    }
    if (!isSameFile(fd, path)) {
      closeSync(fd);
      continue;
    }
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, `${pid}\n`, 0);
    } catch (e) {
      closeSync(fd);
      return { ok: false, message: `cannot write lock file ${path}: ${osError(e)}` };
    }
    return {
      ok: true,
      path,
      release() {
        // Unlink while still holding the lock, then close: whoever opens the path afterwards
        // gets a new file (see the retry above).
        try {
          if (isSameFile(fd, path)) unlinkSync(path);
        } catch {
          // gone already
        }
        closeSync(fd);
      },
    };
  }
  return { ok: false, message: `cannot lock ${path}: it keeps being replaced (another pmtr starting and stopping?)` };
}

function isSameFile(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = statSync(path);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

/** The pid the holder wrote, or null (not written yet, garbled). */
function readHolder(path: string): number | null {
  try {
    const text = readFileSync(path, "utf8").trim();
    return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

