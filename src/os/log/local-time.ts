// Local time as glibc's own syslog(3) computes it: localtime_r through the libc binding pmtr
// already holds, not Date's getHours() & co. The first local-time Date call loads ICU's time
// zone support into the process: +2.6 MB resident in a running pmtr, for the timestamps of
// every syslog record and -l line (docs/PERFORMANCE.md, Memory). UTC fields cost nothing.

import { libc } from "../libc.ts";

export interface LocalTime {
  readonly year: number;
  /** 0 (January) .. 11, as Date's getMonth(). */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** time_t, 64 bits on every platform pmtr is built for (x86_64, aarch64). */
const timeT = new BigInt64Array(1);
/** struct tm: nine ints, then a long and a pointer (56 bytes on 64-bit glibc and musl). */
const tm = new Int32Array(16);

export function localTime(epochMs: number): LocalTime {
  timeT[0] = BigInt(Math.floor(epochMs / 1000));
  if (libc().localtime_r(timeT, tm) === null) {
    // Only for a year beyond int: no local time to give, so the UTC one.
    const d = new Date(epochMs);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  }
  // tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year (since 1900).
  return { year: tm[5]! + 1900, month: tm[4]!, day: tm[3]!, hour: tm[2]!, minute: tm[1]!, second: tm[0]! };
}
