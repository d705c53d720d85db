// Reaping orphans. Any process a job leaves behind (a daemon that double-forks, a crashed
// job's child) is reparented to the nearest child subreaper, or to PID 1; pmtr is one or the
// other, so it must wait() for them or they accumulate as zombies (SPEC §9).
//
// Never waitpid(-1): it would also collect the exits of the processes pmtr started itself
// (spawn/children.ts collects those, by pid, and hands them to whoever started them) and of
// any process Bun spawned (Bun waits for those by pid, and crashes when one is stolen). So
// orphans are reaped by pid: list pmtr's children, skip the ones spawn/children.ts tracks and
// the ones Bun owns, and waitpid(pid, WNOHANG) the rest. Run it when SIGCHLD arrives.
//
// Which children does Bun own? Bun holds a pidfd for each child it spawned, from the spawn
// until it has collected the exit, so every pid named by one of our pidfds is skipped. The
// caller's `skip` set is a further line of defence.

import { read } from "bun:ffi";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { errnoText, libc } from "../libc.ts";
import { readStatFields } from "./proc-stat.ts";
import { anyChildEnded, takeForeignEnded, trackedPids } from "../spawn/children.ts";

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
/** Also children whose exit signal is not SIGCHLD (cloned without it): still zombies to us. */
const __WALL = 0x4000_0000;

/** Makes orphans of pmtr's descendants come to pmtr instead of init. PID 1 already receives
 *  every orphan, so there it does nothing. Returns null, or the OS error text on failure. */
export function becomeSubreaper(): string | null {
  if (process.pid === 1) return null;
  if (libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0) return null;
  const errnoPtr = libc().__errno_location();
  return `cannot become a child subreaper: ${errnoText(errnoPtr === null ? 0 : read.i32(errnoPtr, 0))} (orphaned processes of jobs go to init instead)`;
}

/** Reaps every exited child of pmtr that is neither tracked by spawn/children.ts, nor owned by
 *  Bun, nor in `skip`. Returns the pids reaped. */
export function reapOrphans(skip: { has(pid: number): boolean } = new Set<number>()): number[] {
  const status = new Int32Array(1);
  const reaped: number[] = [];
  // The common case: a job's exit, already collected by spawn/children.ts (its SIGCHLD
  // listener runs first), leaves no ended child at all. Then there is nothing to look for, and
  // the list of 1000 children is not read on every exit (issue 10: per-event work must not
  // grow with the number of jobs). When that listener has just looked, its answer is used: a
  // child ending since then sends another SIGCHLD, so the listener looks again before the
  // next reap.
  // Children cloned without SIGCHLD as their exit signal are seen by that test too (its waitid
  // passes __WALL), at the next SIGCHLD of any child: they send none of their own. (Until
  // issue 10 the list was also read every 64th call, in case they were not: O(children) for
  // nothing.)
  if (!(takeForeignEnded() ?? anyChildEnded())) return reaped;
  const tracked = trackedPids();
  const candidates = childPids().filter((pid) => !skip.has(pid) && !tracked.has(pid));
  if (candidates.length === 0) return reaped;
  const owned = bunOwnedPids();
  for (const pid of candidates) {
    if (owned.has(pid)) continue;
    // 0: still running; -1: not ours any more (reaped meanwhile). Only pid means reaped.
    if (libc().waitpid(pid, status, WNOHANG | __WALL) === pid) reaped.push(pid);
  }
  return reaped;
}

/** The pids this process holds a pidfd for (anon_inode:[pidfd], "Pid:" in its fdinfo). */
export function bunOwnedPids(): Set<number> {
  const pids = new Set<number>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== "anon_inode:[pidfd]") continue;
      const pid = /^Pid:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
      if (pid !== undefined) pids.add(Number(pid));
    } catch {
      // closed meanwhile (the fd used to list the directory, or a pidfd Bun just released)
    }
  }
  return pids;
}

/** pmtr's child processes: from /proc/self/task/TID/children (one file per thread, since a
 *  child belongs to the thread that forked it or adopted it), or, on a kernel built without
 *  CONFIG_PROC_CHILDREN, from the parent field of every /proc/PID/stat. */
export function childPids(): number[] {
  const pids: number[] = [];
  let found = false;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const text = readFileSync(`/proc/self/task/${tid}/children`, "utf8");
      found = true;
      for (const word of text.split(/\s+/)) if (word !== "") pids.push(Number(word));
    } catch {
      // a thread that ended meanwhile, or no such file on this kernel
    }
  }
  return found ? pids : childPidsFromStat();
}

/** The fallback on its own, exported so a test can compare it with the children files. */
export function childPidsFromStat(): number[] {
  const self = process.pid;
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    // null: exited meanwhile
    const ppid = Number(readStatFields(name)?.[1]);
    if (ppid === self) pids.push(Number(name));
  }
  return pids;
}
