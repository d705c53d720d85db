// The content digest of a `depends` file (Ports.digest): pmtr restarts a job when it changes,
// and does not start the job while the file is missing or refused.
//
// Refused, with one log line naming the file and the fix, logged once while the file stays so:
// - when pmtr runs as root, a file that anyone but root may change (root-only.ts, the rule
//   pmtr.conf follows): whoever may write it decides when root's jobs restart, and it is
//   usually the job's own configuration;
// - anything but a regular file: a FIFO would block pmtr's one thread on open or read, a
//   device such as /dev/zero never ends, and neither has a content to compare.
// The file is opened once, non-blocking, and checked on that descriptor, then read up to a
// bound, so nothing at the path can stall the loop or cost unbounded memory.

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { REFUSED, type Digest, type LogLevel } from "../../core/ports.ts";
import { describeFaults, rootOnlyFaults } from "./root-only.ts";

/** Larger files are hashed by their first part and their size. */
export const MAX_DIGEST_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export interface DependsDigestOptions {
  /** True when pmtr runs as root: refuse files that anyone else may change. */
  readonly enforceOwnership: boolean;
  readonly log: (level: LogLevel, message: string) => void;
}

export function createDependsDigest(opts: DependsDigestOptions): (path: string) => Digest {
  /** The refusal last logged per path, so it is said once until something changes. */
  const logged = new Map<string, string>();
  return (path) => {
    const result = digestFile(path, opts.enforceOwnership);
    if (typeof result === "object" && result !== null) {
      if (logged.get(path) !== result.refusal) opts.log("err", result.refusal);
      logged.set(path, result.refusal);
      return REFUSED;
    }
    logged.delete(path);
    return result;
  };
}

function digestFile(path: string, enforceOwnership: boolean): string | null | { refusal: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return null; // missing or unreadable: the job waits for it ("which does not exist")
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO" : st.isSocket() ? "a socket" : "a device";
      return { refusal: `${path}: refusing a depends file that is ${kind}, not a regular file: pmtr compares a file's content (fix: list a regular file in depends)` };
    }
    const faults = enforceOwnership ? rootOnlyFaults(path, st) : [];
    if (faults.length > 0) {
      const { fault, fix } = describeFaults(faults);
      return { refusal: `${path}: refusing a depends file ${fault}: pmtr runs as root, and whoever may change it would restart the jobs that depend on it (fix: ${fix})` };
    }
    const hash = new Bun.CryptoHasher("sha256");
    const buffer = new Uint8Array(CHUNK_BYTES);
    let total = 0;
    while (total < MAX_DIGEST_BYTES) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK_BYTES, MAX_DIGEST_BYTES - total), null);
      if (n <= 0) break;
      hash.update(buffer.subarray(0, n));
      total += n;
    }
    hash.update(String(total < MAX_DIGEST_BYTES ? total : Math.max(total, st.size)));
    return hash.digest("hex");
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
