// A job's `user`, by name or numeric uid, through getpwnam/getpwuid: they consult NSS, so
// users from LDAP or sssd work as they do for login. Only the exec helper calls this, so a
// slow directory service delays that one start, never pmtr's event loop.

import { dlopen, read, CString, type Pointer } from "bun:ffi";
import { libcPath } from "./libc-path.ts";

export interface User {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

function openLibc() {
  return dlopen(libcPath(), {
    getpwnam: { args: ["ptr"], returns: "ptr" },
    getpwuid: { args: ["u32"], returns: "ptr" },
  }).symbols;
}

let libc: ReturnType<typeof openLibc> | undefined;

/** The passwd entry for `nameOrUid` ("daemon" or "1"), or null when there is none. */
export function lookupUser(nameOrUid: string): User | null {
  libc ??= openLibc();
  const entry = /^\d+$/.test(nameOrUid) ? libc.getpwuid(Number(nameOrUid)) : libc.getpwnam(Buffer.from(`${nameOrUid}\0`));
  return entry === null ? null : readPasswd(entry as Pointer);
}

/** struct passwd on 64-bit Linux (glibc and musl): name, passwd, uid, gid, gecos, dir, shell. */
function readPasswd(p: Pointer): User {
  const text = (offset: number) => {
    const s = read.ptr(p, offset);
    return s === 0 ? "" : new CString(s as Pointer).toString();
  };
  return { name: text(0), uid: read.u32(p, 16), gid: read.u32(p, 20), home: text(32), shell: text(40) };
}
