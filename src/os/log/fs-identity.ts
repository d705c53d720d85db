// Files pmtr creates and renames for a job (rotated outputs, the start-error line) are made
// with the job's user's file identity, as the job itself would make them: owned by that user,
// and refused where that user may not write (a root pmtr never creates a file in a directory
// only because root may). setfsuid/setfsgid change only the calling thread's file identity,
// and JavaScript runs on that one thread, so the switch covers exactly the synchronous calls
// inside `action` and nothing else pmtr does. Supplementary groups are not switched: access
// through a group other than the user's primary one is refused (documented in pmtr.conf(5)).

import { libc } from "../libc.ts";
import { lookupUser } from "../spawn/users.ts";


export interface FsIdentity {
  readonly uid: number;
  readonly gid: number;
}

/** The identity to act as for a job's files: null when pmtr is not root (it can only be
 *  itself) or the job has no `user`. An unknown user is an error the start reports anyway. */
export function jobFsIdentity(user: string | null): FsIdentity | null | "unknown-user" {
  if (user === null || process.geteuid?.() !== 0) return null;
  const entry = lookupUser(user);
  return entry === null ? "unknown-user" : { uid: entry.uid, gid: entry.gid };
}

/** Runs `action` (synchronous file calls only) as `identity`; pmtr's own identity after. */
export function asIdentity<T>(identity: FsIdentity | null, action: () => T): T {
  if (identity === null) return action();
  const c = libc();
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  c.setfsgid(identity.gid);
  c.setfsuid(identity.uid);
  try {
    return action();
  } finally {
    c.setfsuid(uid);
    c.setfsgid(gid);
  }
}
