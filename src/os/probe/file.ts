// `ready file PATH`: met once PATH exists and was created or changed after this start, so a
// socket or pid file left over from the previous run does not make the new run ready.

import { statSync } from "node:fs";
import { MET, notMet, type ProbeResult } from "./result.ts";

/** The kernel stamps files from a coarse clock that may lag the one Date.now() reads by up to a
 *  scheduler tick (10 ms at HZ=100). */
const CLOCK_SLACK_MS = 20;

/** `sinceEpochMs`: when this run started (wall clock, as file times are). */
export function probeFile(path: string, sinceEpochMs: number): ProbeResult {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    return notMet(code === "ENOENT" ? `${path} does not exist yet` : `${path}: ${(e as Error).message}`);
  }
  // ctime also moves on a rename into place and on chmod: either counts as "made by this run".
  const changedMs = Math.max(st.mtimeMs, st.ctimeMs);
  if (changedMs < sinceEpochMs - CLOCK_SLACK_MS) return notMet(`${path} is left over from before this start`);
  return MET;
}
