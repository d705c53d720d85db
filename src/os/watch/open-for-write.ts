// Whether some process holds a file open for writing, as the kernel knows it: a read lease
// (fcntl F_SETLEASE F_RDLCK) is refused with EAGAIN exactly while the inode is open for
// writing by anyone (fs/locks.c check_conflicting_open). The lease is given back at once by
// closing the descriptor; a writer opening the file in those microseconds waits for that
// close, and pmtr may be sent SIGIO for it (logged and ignored, SPEC §11).
//
// Why: a file created by `generate > pmtr.conf` is announced by IN_CREATE when it is opened,
// before anything is written. If nobody holds it open any more (the writer was quick, and its
// IN_CLOSE_WRITE came before our watch on the new inode), it is complete and can be read;
// otherwise its IN_CLOSE_WRITE is still to come.
//
// Taking a lease needs CAP_LEASE (root) or owning the file, and a file system that supports
// leases; when the answer cannot be had, null, and the caller reads the file as it is.

import { closeSync, constants, openSync } from "node:fs";
import { lastErrno, libc } from "../libc.ts";

const F_SETLEASE = 1024;
const F_RDLCK = 0;
const EAGAIN = 11;

/** True when the regular file at `path` is open for writing, false when not, null when it
 *  cannot be told (not a regular file, gone, no right to take a lease). */
export function isOpenForWriting(path: string): boolean | null {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put where the file was must not block the loop on open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    if (libc().fcntl(fd, F_SETLEASE, F_RDLCK) === 0) return false;
    return lastErrno() === EAGAIN ? true : null;
  } finally {
    closeSync(fd); // releases the lease
  }
}
