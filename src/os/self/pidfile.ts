// The `-p FILE` pidfile: names the pmtr that supervises, refuses a second pmtr, and is removed
// on exit only by its owner.
//
// A pidfile left behind by a crash, a reboot or a killed container must not block the next
// start, even when its pid has since been recycled by an unrelated program: a holder counts only
// if it is alive, not a zombie, not us (a container's pmtr is PID 1 on every run, so a stale
// file naming 1 is the normal case there), and is a pmtr according to /proc/PID/exe or, when
// that is unreadable (another user's process), /proc/PID/cmdline.
//
// The file is written to a temporary name in the same directory and linked into place, so a
// reader never sees it half-written. link(2) fails if a file is there, so two pmtrs racing on a
// missing file cannot both win; a stale file is replaced by rename.

import { linkSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { osError } from "../libc.ts";
import { readStatFields } from "../proc/proc-stat.ts";

export type PidfileResult = { readonly ok: true; release(): void } | { readonly ok: false; readonly message: string };

export function acquirePidfile(path: string, pid: number): PidfileResult {
  const temp = `${path}.${pid}.tmp`;
  try {
    writeFileSync(temp, `${pid}\n`, { mode: 0o644 });
  } catch (e) {
    return { ok: false, message: `cannot write pidfile ${path}: ${osError(e)} (create its directory or choose another file with -p)` };
  }
  try {
    if (!tryLink(temp, path)) {
      const holder = readPid(path);
      if (holder !== null && holder !== pid && isRunningPmtr(holder)) {
        return { ok: false, message: `pidfile ${path} names pmtr [${holder}], which is still running: stop it first (kill ${holder}) or give this pmtr another file with -p` };
      }
      renameSync(temp, path); // stale: replace it
    }
  } catch (e) {
    return { ok: false, message: `cannot write pidfile ${path}: ${osError(e)} (check its directory's permissions or choose another file with -p)` };
  } finally {
    removeQuietly(temp);
  }
  return {
    ok: true,
    release() {
      // Never remove a file that has since been taken over by another pmtr.
      if (readPid(path) === pid) removeQuietly(path);
    },
  };
}

/** Links `temp` to `path`; false when `path` already exists. */
function tryLink(temp: string, path: string): boolean {
  try {
    linkSync(temp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

/** The pid a pidfile names, or null for a missing, empty or garbled file (treated as stale). */
export function readPid(path: string): number | null {
  try {
    const text = readFileSync(path, "utf8").trim();
    return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** True when `pid` is a live (not zombie) process running a pmtr binary. */
export function isRunningPmtr(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const program = programName(pid);
  // /proc unreadable: rather refuse than start a second pmtr next to a live one.
  if (program === null) return true;
  return program === "pmtr" || program === ownProgramName();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false; // EPERM: alive, another user's
  }
  const state = readStatFields(pid)?.[0];
  return state === undefined || state !== "Z"; // unreadable: alive, as kill(0) said
}

/** The basename of the program `pid` runs: from /proc/PID/exe (" (deleted)" after an upgrade
 *  replaced the binary), else argv[0] from /proc/PID/cmdline; null when neither is readable. */
function programName(pid: number): string | null {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ""));
  } catch {
    const cmdline = readOr(`/proc/${pid}/cmdline`);
    return cmdline ? basename(cmdline.split("\0")[0]!) : null;
  }
}

function ownProgramName(): string {
  return basename(process.execPath);
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

