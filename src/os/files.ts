// Two small file questions asked in several places of os/: is this path a directory (following
// links), and close this fd without caring whether it is still open.

import { closeSync, statSync } from "node:fs";

/** True when `path` is, or links to, a directory; false when it is not or cannot be seen. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** close(2) that ignores an fd already closed (an error path closing what it may have lost). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
