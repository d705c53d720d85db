// The spawn routine (spawn.c), compiled in pmtr's own process by bun:ffi's cc(): TinyCC is
// part of the Bun runtime inside dist/pmtr, so no compiler, header or writable directory is
// needed on the host. cc() reads its source from a path and cannot read a file embedded in the
// binary, so the text is written to a memfd and handed over as /proc/self/fd/N.
//
// Cost, measured (docs/PERFORMANCE.md): a few milliseconds and ~4 MB of RSS, once per pmtr.
// There is no fallback: without it pmtr cannot start a job exactly, so it says why and stops.

import { cc, type FFIFunction, type Pointer } from "bun:ffi";
import { cstr, errnoText, lastErrno, libc } from "../libc.ts";
import source from "./spawn.c" with { type: "text" };

const MFD_CLOEXEC = 1;

/** Compiles C `text` (no headers, -nostdlib) with cc() through a memfd named `name`; throws
 *  with the reason. Shared with the output reader thread (log/reader.ts). */
export function compileText<S extends Record<string, FFIFunction>>(name: string, text: string, symbols: S) {
  const c = libc();
  const fd = c.memfd_create(cstr(name), MFD_CLOEXEC);
  if (fd < 0) throw new Error(`memfd_create: ${errnoText(lastErrno())} (pmtr needs Linux 3.17 or later)`);
  try {
    const bytes = Buffer.from(text, "utf8");
    if (Number(c.write(fd, bytes, bytes.length)) !== bytes.length) throw new Error(`writing the memfd: ${errnoText(lastErrno())}`);
    return cc({ source: `/proc/self/fd/${fd}`, flags: ["-nostdlib"], symbols });
  } finally {
    c.close(fd);
  }
}

/** The address of a dlopen'ed function, to hand to compiled C. */
export const functionPointer = (f: unknown) => (f as { ptr: Pointer }).ptr;

function compile() {
  const c = libc();
  const lib = compileText("pmtr-spawn.c", source, {
    pmtr_spawn_init: { args: ["ptr", "ptr", "ptr"], returns: "void" },
    pmtr_spawn: { args: ["ptr"], returns: "i64" },
    pmtr_reap: { args: ["i64", "ptr"], returns: "i64" },
    pmtr_next_exited: { args: [], returns: "i64" },
  });
  lib.symbols.pmtr_spawn_init(functionPointer(c.syscall), functionPointer(c.clone), functionPointer(c.__errno_location));
  return lib.symbols;
}

let compiled: ReturnType<typeof compile> | undefined;

/** The compiled routine; the first call compiles it, and throws with the reason if it cannot. */
export function spawnRoutine(): ReturnType<typeof compile> {
  if (compiled !== undefined) return compiled;
  try {
    compiled = compile();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot build pmtr's spawn routine with bun:ffi cc() (TinyCC): ${reason}; pmtr cannot start jobs without it`);
  }
  return compiled;
}

/** Why the routine cannot be built here, or null once it is (compiling it now if needed). */
export function spawnRoutineProblem(): string | null {
  try {
    spawnRoutine();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
