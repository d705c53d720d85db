// Shared by the e2e tests: run dist/pmtr, wait on conditions with deadlines, clean up by pid.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const PMTR = resolve(import.meta.dir, "../dist/pmtr");
export const FIXTURES = resolve(import.meta.dir, "fixtures");

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

  constructor(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
    this.proc = Bun.spawn([PMTR, ...args], {
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
