// The one binding of libc that pmtr's spawning, reaping and user lookup share: opened on first
// use (a command like `pmtr status` never opens it), with every symbol those modules call.
// Each symbol costs a small compiled trampoline, so modules with unrelated needs (syslog's
// socket, sd_notify's clock) may still open their own few.

import { CString, dlopen, read } from "bun:ffi";
import { libcPath } from "./libc-path.ts";

function open() {
  return dlopen(libcPath(), {
    // Passed to the spawn routine as pointers (spawn/compile.ts), never called from here.
    syscall: { args: ["i64"], returns: "i64" },
    clone: { args: ["ptr"], returns: "i32" },
    __errno_location: { args: [], returns: "ptr" },
    strerror: { args: ["i32"], returns: "ptr" },
    memfd_create: { args: ["ptr", "u32"], returns: "i32" },
    write: { args: ["i32", "ptr", "u64"], returns: "i64" },
    close: { args: ["i32"], returns: "i32" },
    pipe2: { args: ["ptr", "i32"], returns: "i32" },
    getpriority: { args: ["i32", "u32"], returns: "i32" },
    getpwnam: { args: ["ptr"], returns: "ptr" },
    getpwuid: { args: ["u32"], returns: "ptr" },
    getgrouplist: { args: ["ptr", "u32", "ptr", "ptr"], returns: "i32" },
    prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
    waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
  }).symbols;
}

let symbols: ReturnType<typeof open> | undefined;

export function libc(): ReturnType<typeof open> {
  symbols ??= open();
  return symbols;
}

/** errno after a libc call that failed. */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

/** strerror's text, e.g. "No such file or directory"; the one errno-to-text of pmtr. */
export function errnoText(errno: number): string {
  const p = libc().strerror(errno);
  return p === null ? `error ${errno}` : new CString(p).toString();
}

/** A NUL-terminated copy of `s` for a `const char *` argument. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}
