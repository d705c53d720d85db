// The runtime's threads, kept from needing new tasks once pmtr runs (issue 12, fault 1).
//
// Under a task limit — systemd `TasksMax=` (cgroup pids.max), or RLIMIT_NPROC when pmtr runs
// as a user — a job that forks up to the limit leaves no room for a new thread, and the Bun
// runtime does not survive failing to create one: `panic(main thread): abort() called`, every
// job left unsupervised. Measured on Bun 1.4.5 (threads of a running pmtr, sampled every 0.5 s
// from /proc, and clone3 calls under strace):
// - JavaScriptCore's helper threads come and go: `JITWorker` (two) exit after 10 s idle and are
//   created again when code gets hot, `HeapHelper` appears at the first GC, `Collector Thread`
//   at the first concurrent GC (11 s in): with a task limit reached, pmtr died at the next
//   such creation (1 s after start, or 11 s);
// - `HTTP Client` at the first fetch (`ready http`, `check http`), `Bun Pool 0/1` at the first
//   asynchronous file or process operation; both stay.
// So: JavaScriptCore's options are set to need none of its helper threads — JIT compilation on
// the main thread (useConcurrentJIT=0), marking by the collector alone (numberOfGCMarkers=1),
// no concurrent collector (useConcurrentGC=0). They are read from BUN_JSC_* variables when
// the runtime starts, so pmtr executes itself again with them set (once: the variables are
// then present; ~20 ms, see docs/RELIABILITY.md). They are removed from the environment
// afterwards, so jobs (which may be Bun programs) do not inherit them. Then the HTTP client
// and the file pool are started at once. What remains are threads that never exit: the
// main thread, JSCWarmUp, mi-scavenger, HTTP Client, Bun Pool 0 and 1.

import { ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { cstr, libc } from "../libc.ts";

export const JSC_OPTIONS: Readonly<Record<string, string>> = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_numberOfGCMarkers: "1",
  BUN_JSC_useConcurrentGC: "0",
  // Memory, not threads (issue 11): without the optimizing tiers (DFG, and FTL above it) pmtr
  // holds 3 MB less at start and 7 MB less after 1000 restarts (58 -> 51 MB with 100 jobs),
  // and a restart, a reload, `status` and captured output cost no more CPU: pmtr's work is
  // short event handlers that the baseline JIT serves as well (docs/PERFORMANCE.md, Memory).
  BUN_JSC_useDFGJIT: "0",
};
/** Set by an operator to keep the runtime's defaults (and skip the second exec). */
const OPT_OUT = "PMTR_RUNTIME_THREADS";

/** Executes pmtr again with JSC_OPTIONS unless they are set (returns then); returns also if
 *  the exec fails (pmtr runs on with the runtime's defaults). Call before anything that must
 *  not happen twice: no socket bound, no file written, no job started yet. */
export function reexecWithRuntimeOptions(): void {
  const env = process.env;
  if (env[OPT_OUT] === "default") return;
  if (Object.keys(JSC_OPTIONS).every((k) => env[k] !== undefined)) {
    // The second pass: the options are in effect; jobs must not inherit them.
    for (const k of Object.keys(JSC_OPTIONS)) delete env[k];
    restoreName();
    return;
  }
  // The exact argv this process was started with.
  const argv = readFileSync("/proc/self/cmdline").toString("utf8").split("\0").slice(0, -1);
  if (argv.length === 0) return;
  const strings = [...argv, "\0", ...Object.entries({ ...env, ...JSC_OPTIONS }).map(([k, v]) => `${k}=${v}`)];
  const buffers = strings.map((s) => Buffer.from(`${s}\0`, "utf8"));
  const table = (bufs: Buffer[]) => {
    const t = new BigUint64Array(bufs.length + 1);
    bufs.forEach((b, i) => (t[i] = BigInt(ptr(b))));
    return t;
  };
  const argvTable = table(buffers.slice(0, argv.length));
  const envTable = table(buffers.slice(argv.length + 1));
  const { execve } = libc();
  // The binary by its path, not /proc/self/exe: the name it runs under (comm, for ps, pidof
  // and systemd) comes from it.
  execve(Buffer.from(`${process.execPath}\0`), argvTable, envTable);
  // The path may not be reachable by pmtr's own user (a binary under a 0700 directory, run
  // through setpriv or su: seen with `make test` in a clone under mktemp -d, where pmtr then
  // ran without the options and aborted under RLIMIT_NPROC). The running file itself still is.
  // Its comm then reads "exe"; the second pass names it again (restoreName).
  execve(Buffer.from("/proc/self/exe\0"), argvTable, envTable);
  // Only on failure (no /proc): the runtime's defaults, as before.
  void buffers;
}

const PR_SET_NAME = 15;
/** comm holds at most 15 bytes. */
const COMM_BYTES = 15;

/** After a re-exec through /proc/self/exe, comm is "exe": give pmtr back the name it was run
 *  under (ps, pidof, systemd read it). Nothing when it already has it. */
function restoreName(): void {
  try {
    const want = basename(process.execPath).slice(0, COMM_BYTES);
    if (readFileSync("/proc/self/comm", "utf8").trim() === want) return;
    const name = cstr(want);
    libc().prctl(PR_SET_NAME, BigInt(ptr(name)), 0, 0, 0);
  } catch {
    // a name is cosmetic: never fail a start for it
  }
}

/** How long the warm-up may take at most: a loopback connection refused returns at once. */
const WARM_UP_TIMEOUT_MS = 2000;
/** Concurrent file reads: enough for the pool to start the threads it would start later. */
const POOL_TASKS = 4;

/** Starts the runtime's lazily created threads that stay (HTTP Client, Bun Pool) now;
 *  never throws. */
export async function prestartRuntimeThreads(): Promise<void> {
  const signal = AbortSignal.timeout(WARM_UP_TIMEOUT_MS);
  await Promise.all([
    // Port 9 (discard) on loopback: refused at once where nothing listens; either way the
    // runtime has started its HTTP thread to try.
    fetch("http://127.0.0.1:9/", { signal }).then((r) => r.body?.cancel(), () => undefined),
    ...Array.from({ length: POOL_TASKS }, () => readFile("/proc/self/stat").catch(() => undefined)),
  ]);
}
