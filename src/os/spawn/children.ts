// The processes pmtr started (spawn.c), and their exits. They are not Bun subprocesses, so
// pmtr reaps them itself, by pid, when SIGCHLD arrives: waitid(P_ALL, WNOHANG|WNOWAIT) names
// an ended child without collecting it; one of ours is then collected with wait4(pid) and its
// exit handed to whoever started it. A pid that is not ours (a Bun.spawn child, which Bun
// collects itself, or an orphan for reaper.ts) is left alone: never waitpid(-1).
//
// Process-wide: one SIGCHLD listener however many spawners exist, so that probes, hooks and
// jobs all go through the same table.

import type { ExitStatus } from "../../core/ports.ts";
import { spawnRoutine } from "./compile.ts";

type OnExit = (status: ExitStatus) => void;

const running = new Map<number, OnExit>();
let listening = false;
const status = new Int32Array(1);

/** From now on, the exit of `pid` goes to `onExit`, once, in a later turn of the event loop. */
export function track(pid: number, onExit: OnExit): void {
  running.set(pid, onExit);
  if (listening) return;
  listening = true;
  process.on("SIGCHLD", reapTracked);
  setImmediate(reapTracked); // an exit before the listener existed
}

/** The pids started here whose exit has not been collected yet (reaper.ts leaves them): a
 *  view of the table, not a copy. */
export function trackedPids(): { has(pid: number): boolean } {
  return running;
}

/** True when some child of pmtr has ended and not been collected (waitid WNOWAIT: nothing is
 *  collected by asking). One system call, but the kernel walks the list of pmtr's children to
 *  answer: ~15 µs with 100 jobs, ~100 µs with 1000 (issue 10). */
export function anyChildEnded(): boolean {
  return Number(spawnRoutine().pmtr_next_exited()) > 0;
}

/** What the last reapTracked() saw once it had collected ours: false, no ended child was left;
 *  true, one that is not ours (an orphan, a Bun child); null, it has not looked since the last
 *  take. Lets the orphan reaper, which runs after it for the same SIGCHLD, skip asking the
 *  kernel again (a walk of every child) when the answer is already known. */
let foreignEnded: boolean | null = null;

export function takeForeignEnded(): boolean | null {
  const seen = foreignEnded;
  foreignEnded = null;
  return seen;
}

/** Collects every ended child of ours and reports it. Runs on SIGCHLD. */
export function reapTracked(): void {
  if (running.size === 0) {
    foreignEnded = null; // not looked
    return;
  }
  const routine = spawnRoutine();
  // Fast path: the ended children waitid names, as long as they are ours.
  for (;;) {
    const pid = Number(routine.pmtr_next_exited());
    if (pid <= 0) {
      foreignEnded = false;
      return;
    }
    if (!running.has(pid)) break;
    collect(pid);
  }
  foreignEnded = true;
  // waitid names the same pid until it is collected: when that is someone else's (a Bun
  // child not yet collected by Bun, an orphan), ask for each of ours instead.
  for (const pid of [...running.keys()]) collect(pid);
}

function collect(pid: number): void {
  const rc = Number(spawnRoutine().pmtr_reap(pid, status));
  if (rc === 0) return; // still running
  const onExit = running.get(pid);
  running.delete(pid);
  // rc < 0 (ECHILD): collected by someone else meanwhile; its status is lost.
  const exit: ExitStatus = rc === pid ? decodeStatus(status[0]!) : { kind: "exited", code: 255 };
  try {
    onExit?.(exit);
  } catch (e) {
    // A callback that throws must not keep the other ended children from being collected.
    queueMicrotask(() => {
      throw e;
    });
  }
}

/** A wait status as Bun reported it: exit code, or the signal's name. */
export function decodeStatus(raw: number): ExitStatus {
  const signal = raw & 0x7f;
  if (signal === 0) return { kind: "exited", code: (raw >> 8) & 0xff };
  return { kind: "signaled", signal: SIGNAL_NAMES[signal] ?? `SIG${signal}` };
}

/** Linux signal numbers, the same on x86_64 and aarch64. */
const SIGNAL_NAMES: Readonly<Record<number, string>> = {
  1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
  8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
  14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
  20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
  26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
};
