// installSignals in a real process (fixtures/signals-harness.ts): each signal sent by kill(2)
// is recorded and wakes the loop; the process survives every one of them.

import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { waitFor } from "../../helpers.ts";

const HARNESS = join(import.meta.dir, "fixtures", "signals-harness.ts");
let harness: { proc: Subprocess<"pipe", "pipe", "inherit">; lines: string[] } | null = null;

afterEach(() => {
  harness?.proc.kill("SIGKILL");
  harness = null;
});

async function start() {
  const proc = Bun.spawn([process.execPath, HARNESS], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const lines: string[] = [];
  harness = { proc, lines };
  void (async () => {
    let buffer = "";
    for await (const chunk of proc.stdout) {
      buffer += new TextDecoder().decode(chunk);
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts);
    }
  })();
  await waitFor("the harness to be ready", () => lines.includes("ready"));
  return harness;
}

type Taken = { shutdown: number | null; rescan: boolean; reap: boolean; reopen: boolean; ignored: string[] };
const nothing = { shutdown: null, rescan: false, reap: false, reopen: false, ignored: [] };
const taken = (lines: string[]): Taken[] => lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));

describe("installSignals", () => {
  test.each([["SIGTERM", 15], ["SIGINT", 2], ["SIGQUIT", 3]] as const)("%s records shutdown with signal %d", async (name, number) => {
    const h = await start();
    h.proc.kill(name);
    const record = await waitFor("a wake-up", () => taken(h.lines)[0]);
    expect(record).toEqual({ ...nothing, shutdown: number });
    expect(h.proc.exitCode).toBeNull();
  });

  test("SIGHUP records a rescan, once per take", async () => {
    const h = await start();
    h.proc.kill("SIGHUP");
    await waitFor("a wake-up", () => taken(h.lines).length === 1);
    h.proc.kill("SIGHUP");
    await waitFor("a second wake-up", () => taken(h.lines).length === 2);
    expect(taken(h.lines)).toEqual([{ ...nothing, rescan: true }, { ...nothing, rescan: true }]);
  });

  test("the first shutdown signal is kept across takes and later shutdown signals", async () => {
    const h = await start();
    h.proc.kill("SIGINT");
    await waitFor("a wake-up", () => taken(h.lines).length === 1);
    h.proc.kill("SIGTERM");
    await waitFor("a second wake-up", () => taken(h.lines).length === 2);
    expect(taken(h.lines).map((t) => t.shutdown)).toEqual([2, 2]);
  });

  test("SIGUSR1 records a reopen; the harness's onReopen hook runs when the loop asks", async () => {
    const h = await start();
    h.proc.kill("SIGUSR1");
    expect(await waitFor("a wake-up", () => taken(h.lines)[0])).toEqual({ ...nothing, reopen: true });
    await waitFor("the hook", () => h.lines.includes("reopened"));
    expect(h.proc.exitCode).toBeNull();
  });

  test.each(["SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGXCPU"] as const)("%s is recorded as ignored, by name", async (name) => {
    const h = await start();
    h.proc.kill(name);
    expect(await waitFor("a wake-up", () => taken(h.lines)[0])).toEqual({ ...nothing, ignored: [name] });
    expect(h.proc.exitCode).toBeNull();
  });

  test("SIGSTKFLT and the real-time signals are set to SIG_IGN: the process survives them", async () => {
    const h = await start();
    for (const sig of [16, 34, 40, 64]) process.kill(h.proc.pid, sig);
    h.proc.kill("SIGHUP"); // delivered after them: its wake-up proves the process is still there
    await waitFor("a wake-up", () => taken(h.lines).length > 0);
    expect(h.proc.exitCode).toBeNull();
  });

  test("a child's exit (SIGCHLD) records a reap", async () => {
    const h = await start();
    h.proc.stdin.write("spawn\n");
    h.proc.stdin.flush();
    await waitFor("a reap wake-up", () => taken(h.lines).some((t) => t.reap));
  });

  test("close() gives SIGTERM its default disposition back", async () => {
    const h = await start();
    h.proc.stdin.write("close\n");
    h.proc.stdin.flush();
    await waitFor("the handlers to be removed", () => h.lines.includes("closed"));
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(143);
    expect(h.proc.signalCode).toBe("SIGTERM");
  });
});
