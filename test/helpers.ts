// Shared by the e2e tests: run dist/pmtr, wait on conditions with deadlines, clean up by pid.

import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import type { Subprocess } from "bun";

export const PMTR = resolve(import.meta.dir, "../dist/pmtr");
export const FIXTURES = resolve(import.meta.dir, "fixtures");

const REPO = resolve(import.meta.dir, "..");
let sharedCopies: string | null = null;

/** True when every directory above `path` lets other users in (search permission). */
function reachableByOthers(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === "/") return true;
  }
}

/**
 * `path` (a file or directory of this clone: a fixture, dist/pmtr) as a process running as
 * another user (`user nobody`, setpriv) can reach it: `path` itself when every directory above
 * it lets others in, otherwise a copy (modes kept, same layout under the clone's root) in a
 * world-traversable temporary directory removed when the tests end. A clone under /root or a
 * `mktemp -d` folder (mode 0700) is otherwise unreachable for such a process.
 */
export function forAnyUser(path: string): string {
  if (reachableByOthers(path)) return path;
  if (sharedCopies === null) {
    const dir = mkdtempSync(join(tmpdir(), "pmtr-test-shared-"));
    chmodSync(dir, 0o755);
    if (!reachableByOthers(join(dir, "x"))) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`tests that run a process as another user need a directory every user can enter, and neither this clone (${REPO}) nor the temporary directory ${tmpdir()} is one: move the clone, or set TMPDIR to such a directory (e.g. TMPDIR=/tmp)`);
    }
    sharedCopies = dir;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  const copy = join(sharedCopies, relative(REPO, path));
  if (!existsSync(copy)) {
    mkdirSync(dirname(copy), { recursive: true, mode: 0o755 });
    for (let d = dirname(copy); d !== sharedCopies; d = dirname(d)) chmodSync(d, 0o755);
    cpSync(path, copy, { recursive: true, preserveTimestamps: true });
  }
  return copy;
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes; then throw with `what`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await Bun.sleep(everyMs);
  }
}

/** A fresh directory under the system temp dir, removed by the returned cleanup. */
export function tempDir(prefix = "pmtr-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function readOr(path: string, fallback = ""): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); treat it as dead.
    return !readOr(`/proc/${pid}/stat`).match(/^\d+ \(.*\) Z/);
  } catch {
    return false;
  }
}

/** A running pmtr under test, with its collected stderr. */
export class Pmtr {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private stderrText = "";
  private stdoutText = "";

  /** `wrap`: a command that runs pmtr for the test (unshare, setpriv, a shell that sets up a
   *  context and execs it), given pmtr's path and arguments after its own. */
  constructor(args: string[], opts: { env?: Record<string, string>; cwd?: string; wrap?: string[] } = {}) {
    this.proc = Bun.spawn([...(opts.wrap ?? []), PMTR, ...args], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    void this.drain(this.proc.stderr, (s) => (this.stderrText += s));
    void this.drain(this.proc.stdout, (s) => (this.stdoutText += s));
  }

  get pid(): number {
    return this.proc.pid;
  }
  get stderr(): string {
    return this.stderrText;
  }
  get stdout(): string {
    return this.stdoutText;
  }

  /** Wait until pmtr's stderr contains `text` (or matches), returning the whole log so far. */
  async waitLog(pattern: string | RegExp, timeoutMs = 5000): Promise<string> {
    await waitFor(`pmtr log to contain ${pattern}\n--- log so far ---\n${this.stderrText}`, () =>
      typeof pattern === "string" ? this.stderrText.includes(pattern) : pattern.test(this.stderrText), timeoutMs);
    return this.stderrText;
  }

  /** Count of log lines matching. */
  count(pattern: RegExp): number {
    return this.stderrText.split("\n").filter((l) => pattern.test(l)).length;
  }

  /** SIGTERM pmtr and wait for it to exit; SIGKILL if it will not. Returns its exit code. */
  async stop(timeoutMs = 15000): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    const code = await this.proc.exited;
    clearTimeout(timer);
    return code;
  }

  private async drain(stream: ReadableStream<Uint8Array>, sink: (s: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
  }
}

/** Run dist/pmtr to completion. */
export async function runPmtr(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}) {
  const proc = Bun.spawn([PMTR, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 10000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export function writeConfig(dir: string, text: string, name = "pmtr.conf"): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

export { existsSync, rmSync, join };

// ---- supervision e2e (test/e2e/supervise-*) ----

/** Pids of the `started job NAME [PID]` lines of a pmtr log, in order. */
export function startedPids(log: string, name: string): number[] {
  const re = new RegExp(`: started job ${name} \\[(\\d+)\\]$`, "gm");
  return Array.from(log.matchAll(re), (m) => Number(m[1]));
}

/** Fields of /proc/PID/stat, or null when the process is gone. */
export function procStat(pid: number): { state: string; ppid: number; pgrp: number; session: number; nice: number } | null {
  const text = readOr(`/proc/${pid}/stat`);
  if (text === "") return null;
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), nice: Number(f[16]) };
}

/** The direct children of PID (zombies included), from /proc/PID/task/../children. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((t) => readOr(`/proc/${pid}/task/${t}/children`).trim().split(/\s+/).filter(Boolean).map(Number));
}

/** PID and every process below it, each with its stat (gone ones left out). */
export function descendants(pid: number): Array<{ pid: number; state: string; nsPid: number }> {
  const out: Array<{ pid: number; state: string; nsPid: number }> = [];
  for (const child of childrenOf(pid)) {
    const st = procStat(child);
    if (st === null) continue;
    const nsPid = Number(readOr(`/proc/${child}/status`).match(/^NSpid:.*\s(\d+)\s*$/m)?.[1] ?? child);
    out.push({ pid: child, state: st.state, nsPid }, ...descendants(child));
  }
  return out;
}

/** True while some process of group PGID exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The non-empty lines of a file ([] when it is missing). */
export function fileLines(path: string): string[] {
  return readOr(path).split("\n").filter(Boolean);
}

/**
 * Stops a pmtr under test (SIGTERM; SIGKILL after `timeoutMs`), then SIGKILLs the process group
 * of every job it logged as started that still leads its own session: a failing test never leaves
 * jobs behind. `hostPids: false` for a pmtr in a pid namespace, whose logged pids are not ours
 * (its jobs die with the namespace).
 */
export async function cleanupPmtr(p: Pmtr, opts: { hostPids?: boolean; timeoutMs?: number } = {}): Promise<void> {
  await p.stop(opts.timeoutMs ?? 15000);
  if (opts.hostPids === false) return;
  for (const m of p.stderr.matchAll(/: started job \S+ \[(\d+)\]$/gm)) {
    const pid = Number(m[1]);
    if (pid > 1 && procStat(pid)?.session === pid) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
  }
}

/**
 * Runs `fn` with a pmtr started with `args`, then cleans it up whatever happens; a failure gets
 * pmtr's log appended to its message.
 */
export async function withPmtr<T>(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; wrap?: string[]; hostPids?: boolean },
  fn: (p: Pmtr) => Promise<T>,
): Promise<T> {
  const p = new Pmtr(args, opts);
  try {
    return await fn(p);
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- pmtr log ---\n${p.stderr}`;
    throw e;
  } finally {
    await cleanupPmtr(p, { hostPids: opts.hostPids });
  }
}

// ---- reload e2e (test/e2e/reload-*): which process runs a job, seen as an operator sees it ----

/** A process's argv from /proc; empty once it is gone. */
export function cmdlineOf(pid: number): string[] {
  return readOr(`/proc/${pid}/cmdline`).split("\0").slice(0, -1);
}

/** Live processes (zombies excluded) having `arg` as one whole argument of their argv. */
export function pidsWithArg(arg: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => cmdlineOf(pid).includes(arg) && isAlive(pid));
}

/** Waits until job NAME runs as exactly one live process having `marker` (and every one of
 *  `words`) in its argv, and pmtr's last `started job NAME [PID]` line names that process. */
export function jobRunning(pmtr: Pmtr, name: string, marker: string, words: string[] = [], timeoutMs = 5000): Promise<number> {
  return waitFor(`job ${name} running as one process with ${[marker, ...words].join(" ")}`, () => {
    const pids = pidsWithArg(marker);
    if (pids.length !== 1) return 0;
    const argv = cmdlineOf(pids[0]!);
    if (!words.every((w) => argv.includes(w))) return 0;
    return startedPids(pmtr.stderr, name).at(-1) === pids[0] ? pids[0]! : 0;
  }, timeoutMs);
}
