// Whether only root can change a file that pmtr, running as root, acts on: the configuration
// file (config-file.ts), the `depends` files (depends-digest.ts) and a root job's `in` file
// (spawn/request.ts, spawn.c). Like sshd's StrictModes: a file that someone else owns or
// may write is a way for them to act as root. Each fault comes with the command that fixes it,
// so every refusal can say what to do.
//
// Checked on the fstat of the descriptor pmtr actually reads, never on a path looked at
// before opening it: a file swapped in between could not slip past.

/** What fstat says about the file (node's Stats has these). */
export interface OwnerAndMode {
  readonly uid: number;
  readonly mode: number;
}

export interface Fault {
  /** "owned by uid 1000, not root" or "writable by group (mode 0664)". */
  readonly fault: string;
  /** "chown root /etc/x" or "chmod go-w /etc/x", the path shell-quoted. */
  readonly fix: string;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;

/** Why someone other than root could change what is read from `path`; empty when only root can.
 *  Both faults are reported together, so one round of fixes is enough. */
/** `groupIsRoot`: the group is root's alone (config-file.ts), so its write bit is no fault. */
export function rootOnlyFaults(path: string, st: OwnerAndMode, groupIsRoot = false): Fault[] {
  const faults: Fault[] = [];
  if (st.uid !== 0) faults.push({ fault: `owned by uid ${st.uid}, not root`, fix: `chown root ${shellQuote(path)}` });
  const writable = st.mode & (groupIsRoot ? 0o002 : 0o022);
  // A character device's mode says who may write *to the device*, not who decides what is read
  // from it: /dev/null and /dev/zero are 0666 and harmless. Its owner still counts (a terminal
  // belongs to whoever is typing into it).
  if (writable !== 0 && (st.mode & S_IFMT) !== S_IFCHR) {
    const who = writable === 0o022 ? "group and others" : writable === 0o020 ? "group" : "others";
    faults.push({ fault: `writable by ${who} (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`, fix: `chmod go-w ${shellQuote(path)}` });
  }
  return faults;
}

/** All faults in one phrase and all fixes in one command:
 *  "owned by uid 1000, not root, and writable by others (mode 0646)" / "chown root F && chmod go-w F". */
export function describeFaults(faults: readonly Fault[]): { fault: string; fix: string } {
  return { fault: faults.map((f) => f.fault).join(", and "), fix: faults.map((f) => f.fix).join(" && ") };
}

export function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}

/** Why a job that runs as root must not read `path` as its `in`, or null when only root can
 *  change the file: whoever may write it would choose what root's job reads. */
export function rootInputRefusal(path: string, st: OwnerAndMode): string | null {
  const faults = rootOnlyFaults(path, st);
  if (faults.length === 0) return null;
  const { fault, fix } = describeFaults(faults);
  return `refusing ${path}, ${fault}: the job runs as root and would read it (fix: ${fix})`;
}
