// What the supervision benchmarks read from /proc: a daemon's children and what they run, its
// memory, fds and context switches. Everything here is synchronous on purpose: the benchmarks
// observe by polling in a tight loop, and an event-loop turn between two looks would add its
// own latency to the figure.

import { readdirSync, readFileSync } from "node:fs";

const napCell = new Int32Array(new SharedArrayBuffer(4));

/** Block the whole thread for `ms` (fractions allowed; Bun.sleepSync rounds 0.2 down to 0).
 *  A nap between two looks leaves the CPU to the daemon and its jobs: the machine has 2 cores. */
export function nap(ms: number): void {
  Atomics.wait(napCell, 0, 0, ms);
}

export function readOr(path: string, fallback = ""): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** Direct children of `pid`, from every thread's `children` list: a child belongs to the
 *  thread that forked it, and Bun may fork from more than one. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    const text = readOr(`/proc/${pid}/task/${tid}/children`);
    for (const word of text.split(" ")) if (word !== "" && word !== "\n") out.push(Number(word));
  }
  return out;
}

/** argv of `pid` ([] once it is gone). */
export function argvOf(pid: number): string[] {
  const raw = readOr(`/proc/${pid}/cmdline`);
  return raw === "" ? [] : raw.replace(/\0$/, "").split("\0");
}

/** Alive and not a zombie: a zombie has exited, it only waits for its parent to reap it. */
export function isAlive(pid: number): boolean {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat !== "" && !/^\d+ \(.*\) [ZX]/s.test(stat);
}

/** A field of /proc/PID/status in kB (VmRSS, VmHWM), as MB; NaN when unreadable. */
export function memoryMb(pid: number, field = "VmRSS"): number {
  const m = readOr(`/proc/${pid}/status`).match(new RegExp(`^${field}:\\s*(\\d+) kB`, "m"));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

export function threadCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return NaN;
  }
}

/** Context switches of each thread of `pid` (tid -> voluntary + involuntary counts).
 *  /proc/PID/status alone counts only the main thread; a wakeup of any thread (a timer, a GC
 *  helper) is a wakeup of the daemon. */
export function contextSwitches(pid: number): Map<string, { voluntary: number; involuntary: number }> {
  const out = new Map<string, { voluntary: number; involuntary: number }>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // gone
  }
  for (const tid of tasks) {
    const s = readOr(`/proc/${pid}/task/${tid}/status`);
    const v = s.match(/^voluntary_ctxt_switches:\s*(\d+)/m);
    const n = s.match(/^nonvoluntary_ctxt_switches:\s*(\d+)/m);
    if (v && n) out.set(tid, { voluntary: Number(v[1]), involuntary: Number(n[1]) });
  }
  return out;
}

/** Switches between two samples, over the threads alive in both; threads that came or went
 *  in between are counted separately (their switches cannot all be seen from outside). */
export function switchesBetween(a: ReturnType<typeof contextSwitches>, b: ReturnType<typeof contextSwitches>) {
  let voluntary = 0;
  let involuntary = 0;
  let both = 0;
  for (const [tid, x] of b) {
    const y = a.get(tid);
    if (!y) continue;
    voluntary += x.voluntary - y.voluntary;
    involuntary += x.involuntary - y.involuntary;
    both++;
  }
  const came = [...b.keys()].filter((t) => !a.has(t)).length;
  const went = [...a.keys()].filter((t) => !b.has(t)).length;
  return { voluntary, involuntary, threads: both, came, went };
}

/** Poll `check` with a short nap until it returns a value; throw naming `what` after `timeoutMs`. */
export function pollUntil<T>(what: string, check: () => T | null | undefined | false, timeoutMs: number, napMs = 0.2): T {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    nap(napMs);
  }
}

/** CPU time (user + system) `pid` has used, in ms; the kernel counts it in 10 ms ticks. */
export function cpuTimeMs(pid: number): number {
  const stat = readOr(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
