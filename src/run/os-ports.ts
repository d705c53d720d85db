// The world as the supervision core sees it (core/ports.ts), made of src/os: monotonic and
// wall clocks, process-group signals, `depends` digests, one alarm, the log, and a change
// notice delivered once per burst. Starting a run and the hook/readiness taps are passed in,
// since they are assembled from several modules (outputs, readiness, spawner, hooks).

import type { Ports } from "../core/ports.ts";
import { createDependsDigest } from "../os/config/depends-digest.ts";
import { localTime } from "../os/log/local-time.ts";
import { groupAlive, signalGroup } from "../os/proc/process-group.ts";
import { errorText } from "./settle-timer.ts";

export interface OsPortsOptions {
  readonly isRoot: boolean;
  readonly log: Ports["log"];
  readonly start: Ports["start"];
  readonly runChanged?: Ports["runChanged"];
  readonly jobEvent?: Ports["jobEvent"];
  readonly leaderStarted?: Ports["leaderStarted"];
  readonly leaderExited?: Ports["leaderExited"];
  /** The alarm rang: the core's tick(). */
  readonly onAlarm: () => void;
  /** Jobs changed state: called once after a burst of changes (a microtask later). */
  readonly onChanged: () => void;
}

export function createOsPorts(opts: OsPortsOptions): Ports {
  const { log } = opts;
  let alarm: Timer | null = null;
  let changeQueued = false;
  return {
    now: () => performance.now(),
    wallClock: () => Date.now(),
    localClock: (epochMs) => {
      const t = localTime(epochMs);
      return `${String(t.hour).padStart(2, "0")}:${String(t.minute).padStart(2, "0")}`;
    },
    start: opts.start,
    ...(opts.runChanged ? { runChanged: opts.runChanged } : {}),
    ...(opts.jobEvent ? { jobEvent: opts.jobEvent } : {}),
    ...(opts.leaderStarted ? { leaderStarted: opts.leaderStarted } : {}),
    ...(opts.leaderExited ? { leaderExited: opts.leaderExited } : {}),
    signalGroup: (pgid, signal) => {
      try {
        signalGroup(pgid, signal);
      } catch (e) {
        log("err", `cannot send ${signal} to process group ${pgid}: ${errorText(e)}`);
      }
    },
    groupAlive: (pgid) => {
      try {
        return groupAlive(pgid);
      } catch {
        return false;
      }
    },
    digest: createDependsDigest({ enforceOwnership: opts.isRoot, log }),
    setAlarm: (atMs) => {
      if (alarm !== null) clearTimeout(alarm);
      alarm = atMs === null ? null : setTimeout(() => {
        alarm = null;
        opts.onAlarm();
      }, Math.max(0, atMs - performance.now()));
    },
    log,
    changed: () => {
      if (changeQueued) return;
      changeQueued = true;
      queueMicrotask(() => {
        changeQueued = false;
        opts.onChanged();
      });
    },
  };
}
