// The spawn routine (spawn.c), compiled in pmtr's own process by bun:ffi's cc(): TinyCC is
// part of the Bun runtime inside dist/pmtr, so no compiler, header or writable directory is
// needed on the host. cc() reads its source from a path and cannot read a file embedded in the
// binary, so the text is written to a memfd and handed over as /proc/self/fd/N.
//
// Cost, measured (docs/PERFORMANCE.md): a few milliseconds and ~4 MB of RSS, once per pmtr.
// There is no fallback: without it pmtr cannot start a job exactly, so it says why and stops.

import { cc, type Pointer } from "bun:ffi";
import { cstr, errnoText, lastErrno, libc } from "../libc.ts";
import source from "./spawn.c" with { type: "text" };

const MFD_CLOEXEC = 1;

function compile() {
  const c = libc();
  const fd = c.memfd_create(cstr("pmtr-spawn.c"), MFD_CLOEXEC);
  if (fd < 0) throw new Error(`memfd_create: ${errnoText(lastErrno())} (pmtr needs Linux 3.17 or later)`);
  try {
    const text = Buffer.from(source, "utf8");
    if (Number(c.write(fd, text, text.length)) !== text.length) throw new Error(`writing the memfd: ${errnoText(lastErrno())}`);
    const lib = cc({
      source: `/proc/self/fd/${fd}`,
      flags: ["-nostdlib"],
      symbols: {
        pmtr_spawn_init: { args: ["ptr", "ptr", "ptr"], returns: "void" },
        pmtr_spawn: { args: ["ptr"], returns: "i64" },
        pmtr_reap: { args: ["i64", "ptr"], returns: "i64" },
        pmtr_next_exited: { args: [], returns: "i64" },
      },
    });
    const pointer = (f: unknown) => (f as { ptr: Pointer }).ptr;
    lib.symbols.pmtr_spawn_init(pointer(c.syscall), pointer(c.clone), pointer(c.__errno_location));
    return lib.symbols;
  } finally {
    c.close(fd);
  }
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
