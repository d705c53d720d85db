// The one stop escalation (SPEC §5, §11): the stop signal to the process group now (the port
// sends SIGCONT after it), then SIGKILL to the group at the stop timeout if anything of it is
// left. The job state table (transition.ts, state `stopping`) and the cleanup of a crashed
// pmtr's jobs (os/self/generation.ts) both go through these three steps, so they cannot drift apart.

export interface Escalation {
  /** The stop signal sent first ("SIGTERM", or the job's `stop signal`). */
  readonly signal: string;
  readonly sentAt: number;
  /** When SIGKILL is due; null once it has been sent. */
  readonly killAt: number | null;
}

/** The stop signal is sent at `now`; SIGKILL falls due `timeoutMs` later. */
export function beginEscalation(signal: string, now: number, timeoutMs: number): Escalation {
  return { signal, sentAt: now, killAt: now + timeoutMs };
}

/** True when SIGKILL is due and has not been sent yet. */
export function isKillDue(e: Escalation, now: number): boolean {
  return e.killAt !== null && e.killAt <= now;
}

/** After SIGKILL has been sent: nothing is left to escalate to. */
export function killSent<E extends Escalation>(e: E): E {
  return { ...e, killAt: null };
}
