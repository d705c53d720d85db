// The signal state pmtr may have inherited and Bun.spawn would pass on, cleared in pmtr's own
// process so that every job starts with SPEC §3's empty signal mask and default dispositions.
// Both paths need it: a direct job is a Bun.spawn child of pmtr, and so is a helper.
//
// - The signal mask. Bun.spawn gives the child the mask of the thread that calls it, pmtr's
//   JavaScript thread, which has whatever pmtr's parent had blocked. (The helper empties its
//   own mask before execve; Bun.spawn has no such step.) Bun itself blocks nothing there.
// - Signals 32 and 33 (glibc's SIGCANCEL and SIGSETXID). glibc's posix_spawn leaves them
//   SIG_IGN in the child (GNU make 4.3 runs every recipe with it, Python's os.posix_spawn too),
//   and an ignored disposition survives execve. Bun.spawn resets other ignored signals to SIG_DFL
//   but not these, and the helper cannot either: libc's sigaction refuses these numbers with
//   EINVAL. The rt_sigaction system call does not. libc installs its own handlers for them when
//   it first needs them; SIG_DFL is what every process started by fork+exec has.

import { dlopen } from "bun:ffi";
import { libcPath } from "./libc-path.ts";

const SIG_SETMASK = 2;
/** The kernel's sigset is 8 bytes, glibc's 128: a zeroed 128-byte set is empty for both. */
const SIGSET_BYTES = 128;
const SIG_IGN = 1n;
const GLIBC_SIGNALS = [32, 33];
/** rt_sigaction takes the kernel's sigset size, 8 on every 64-bit Linux, and refuses others. */
const KERNEL_SIGSET_BYTES = 8;
/** struct kernel_sigaction: handler, flags, restorer, mask (aarch64 as x86_64). Zeroed it is
 *  SIG_DFL with no flags and an empty mask. */
const KERNEL_SIGACTION_BYTES = 32;
const SYS_RT_SIGACTION: Readonly<Record<string, number>> = { x64: 13, arm64: 134 };

/** Empties the calling thread's signal mask and sets signals 32 and 33 back to SIG_DFL where
 *  they are ignored. Idempotent; call it on the thread that will call Bun.spawn. */
export function clearInheritedSignals(): void {
  const libc = dlopen(libcPath(), {
    sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
    syscall: { args: ["i64", "i64", "ptr", "ptr", "u64"], returns: "i64" },
  }).symbols;
  libc.sigprocmask(SIG_SETMASK, new Uint8Array(SIGSET_BYTES), null);
  const nr = SYS_RT_SIGACTION[process.arch];
  if (nr === undefined) return;
  const dfl = new BigUint64Array(KERNEL_SIGACTION_BYTES / 8);
  const old = new BigUint64Array(KERNEL_SIGACTION_BYTES / 8);
  for (const sig of GLIBC_SIGNALS) {
    if (Number(libc.syscall(nr, sig, null, old, KERNEL_SIGSET_BYTES)) === 0 && old[0] === SIG_IGN) {
      libc.syscall(nr, sig, dfl, null, KERNEL_SIGSET_BYTES);
    }
  }
}
