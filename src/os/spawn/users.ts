// A job's `user`, by name or numeric uid, through getpwnam/getpwuid and getgrouplist: they
// consult NSS, so users and groups from LDAP or sssd work as they do for login. Resolved in
// pmtr before each start of a job with a `user` (the spawned child may call nothing that
// allocates or loads libraries), so a slow directory service delays pmtr while it answers.

import { CString, read, type Pointer } from "bun:ffi";
import { cstr, libc } from "../libc.ts";

export interface User {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
  /** No passwd entry: a bare numeric uid (README: `user 54321` works without one). */
  readonly unlisted?: true;
}

/** uids and gids are 32-bit; (uid_t)-1 means "no change" to setuid and is refused. */
const MAX_ID = 0xfffffffe;

/** The passwd entry for `nameOrUid` ("daemon" or "1"), or null when there is none. A numeric
 *  uid without an entry (a container image's `user 54321`) is still a user: that uid, the
 *  same number as gid, no supplementary groups, HOME `/`, SHELL `/bin/sh`, named by the
 *  number. (`UID:GID` is refused by the grammar: SPEC §2 and the README promise a name or a
 *  uid, run with that user's own gid and groups.) */
export function lookupUser(nameOrUid: string): User | null {
  const c = libc();
  if (!/^\d+$/.test(nameOrUid)) {
    const entry = c.getpwnam(cstr(nameOrUid));
    return entry === null ? null : readPasswd(entry as Pointer);
  }
  const uid = Number(nameOrUid);
  if (uid > MAX_ID) return null;
  const entry = c.getpwuid(uid);
  if (entry !== null) return readPasswd(entry as Pointer);
  return { name: String(uid), uid, gid: uid, home: "/", shell: "/bin/sh", unlisted: true };
}

/** The user's groups as initgroups would set them: `gid` and every group listing the user;
 *  only `gid` for a uid without a passwd entry (no name for a group to list). */
export function groupList(user: User): Uint32Array {
  if (user.unlisted) return Uint32Array.of(user.gid);
  const count = new Int32Array(1);
  let groups = new Uint32Array(32);
  for (;;) {
    count[0] = groups.length;
    if (libc().getgrouplist(cstr(user.name), user.gid, groups, count) >= 0) return groups.slice(0, count[0]!);
    // -1: too small, and count now holds the number needed.
    groups = new Uint32Array(Math.max(count[0]!, groups.length * 2));
  }
}

/** struct passwd on 64-bit Linux (glibc and musl): name, passwd, uid, gid, gecos, dir, shell. */
function readPasswd(p: Pointer): User {
  const text = (offset: number) => {
    const s = read.ptr(p, offset);
    return s === 0 ? "" : new CString(s as Pointer).toString();
  };
  return { name: text(0), uid: read.u32(p, 16), gid: read.u32(p, 20), home: text(32), shell: text(40) };
}
