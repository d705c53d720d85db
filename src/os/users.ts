// A job's `user`, by name or numeric uid, through getpwnam/getpwuid and getgrouplist: they
// consult NSS, so users and groups from LDAP or sssd work as they do for login. Resolved in
// pmtr before each start of a job with a `user` (the spawned child may call nothing that
// allocates or loads libraries), so a slow directory service delays pmtr while it answers.

import { CString, read, type Pointer } from "bun:ffi";
import { cstr, libc } from "./libc.ts";

export interface User {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** The passwd entry for `nameOrUid` ("daemon" or "1"), or null when there is none. */
export function lookupUser(nameOrUid: string): User | null {
  const c = libc();
  const entry = /^\d+$/.test(nameOrUid) ? c.getpwuid(Number(nameOrUid)) : c.getpwnam(cstr(nameOrUid));
  return entry === null ? null : readPasswd(entry as Pointer);
}

/** The user's groups as initgroups would set them: `gid` and every group listing the user. */
export function groupList(user: User): Uint32Array {
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
