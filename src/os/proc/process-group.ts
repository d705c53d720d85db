// Signals to a job's whole process group: every job leads its own session and group (pgid ==
// its pid), so signalling the group reaches the grandchildren a job forks, which must never
// outlive it (SPEC §5).

/** Sends `signal` (a name: "SIGTERM", a job's `stop signal` such as "SIGQUIT") to process
 *  group `pgid`. A group that has already gone (ESRCH) is not an error: the job may exit
 *  between the decision to stop it and the kill. Any signal but SIGKILL is followed by
 *  SIGCONT, as systemd does: a stopped process (SIGSTOP, SIGTSTP, a debugger) acts on it only
 *  once continued, and would otherwise sit out the whole stop timeout and get SIGKILL without
 *  a chance to clean up. */
export function signalGroup(pgid: number, signal: string): void {
  checkPgid(pgid);
  try {
    process.kill(-pgid, signal as NodeJS.Signals);
    if (signal !== "SIGKILL" && signal !== "SIGCONT") process.kill(-pgid, "SIGCONT");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/** True while any member of group `pgid` exists, even after the leader has exited. A member
 *  that is a zombie still counts until it is reaped (by Bun for its own children, by
 *  reapOrphans for orphans reparented to pmtr), so the stop sequence waits for the reap. */
export function groupAlive(pgid: number): boolean {
  checkPgid(pgid);
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    // EPERM: the group exists but runs as another user (a `user` job): still alive.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** kill(-1) signals every process we may signal and kill(-0) our own group: a pgid of 0 or 1
 *  can only come from a bug, and must never reach kill. */
function checkPgid(pgid: number): void {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`refusing to signal process group ${pgid}: not a job's group`);
}
