// The two real-time signals glibc keeps for itself (32 SIGCANCEL, 33 SIGSETXID) back to their
// default disposition in pmtr's own process, so that every job inherits SIG_DFL for them as
// SPEC §3 says.
//
// glibc's posix_spawn (GNU make 4.3 runs every recipe with it, Python's os.posix_spawn too)
// leaves these signals SIG_IGN in the child, and an ignored disposition survives execve: a pmtr
// started under such a parent inherits them ignored. Neither Bun.spawn (the direct path) nor the
// helper's sigaction loop can undo that, because libc's sigaction refuses these numbers with
// EINVAL; the rt_sigaction system call does not. Restoring them in pmtr itself covers both paths
// at once, since the helper is spawned by pmtr. Nothing in pmtr relies on them being ignored:
// libc installs its own handlers when it first needs them, and SIG_DFL is what every process
// started by fork+exec already has.

import { dlopen } from "bun:ffi";
import { libcPath } from "./libc-path.ts";

const SIG_IGN = 1n;
const LIBC_SIGNALS = [32, 33];
/** The kernel's sigset_t is 8 bytes on every 64-bit Linux; rt_sigaction refuses any other size. */
const KERNEL_SIGSET_BYTES = 8;
/** struct kernel_sigaction: handler, flags, restorer, mask (aarch64 as x86_64). Zeroed it is
 *  SIG_DFL with no flags and an empty mask. */
const KERNEL_SIGACTION_BYTES = 32;
const SYS_RT_SIGACTION: Readonly<Record<string, number>> = { x64: 13, arm64: 134 };

/** Sets each of those signals that is ignored back to SIG_DFL; returns how many it changed. */
export function restoreLibcSignals(): number {
  const nr = SYS_RT_SIGACTION[process.arch];
  if (nr === undefined) return 0;
  const { syscall } = dlopen(libcPath(), { syscall: { args: ["i64", "i64", "ptr", "ptr", "u64"], returns: "i64" } }).symbols;
  const dfl = new BigUint64Array(KERNEL_SIGACTION_BYTES / 8);
  const old = new BigUint64Array(KERNEL_SIGACTION_BYTES / 8);
  let changed = 0;
  for (const sig of LIBC_SIGNALS) {
    if (Number(syscall(nr, sig, null, old, KERNEL_SIGSET_BYTES)) !== 0 || old[0] !== SIG_IGN) continue;
    if (Number(syscall(nr, sig, dfl, null, KERNEL_SIGSET_BYTES)) === 0) changed++;
  }
  return changed;
}
