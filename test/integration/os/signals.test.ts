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

type Taken = { shutdown: number | null; rescan: boolean; reap: boolean };
const taken = (lines: string[]): Taken[] => lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));

describe("installSignals", () => {
  test.each([["SIGTERM", 15], ["SIGINT", 2], ["SIGQUIT", 3]] as const)("%s records shutdown with signal %d", async (name, number) => {
    const h = await start();
    h.proc.kill(name);
    const record = await waitFor("a wake-up", () => taken(h.lines)[0]);
    expect(record).toEqual({ shutdown: number, rescan: false, reap: false });
    expect(h.proc.exitCode).toBeNull();
  });

  test("SIGHUP records a rescan, once per take", async () => {
    const h = await start();
    h.proc.kill("SIGHUP");
    await waitFor("a wake-up", () => taken(h.lines).length === 1);
    h.proc.kill("SIGHUP");
    await waitFor("a second wake-up", () => taken(h.lines).length === 2);
    expect(taken(h.lines)).toEqual([
      { shutdown: null, rescan: true, reap: false },
      { shutdown: null, rescan: true, reap: false },
    ]);
  });

  test("the first shutdown signal is kept across takes and later shutdown signals", async () => {
    const h = await start();
    h.proc.kill("SIGINT");
    await waitFor("a wake-up", () => taken(h.lines).length === 1);
    h.proc.kill("SIGTERM");
    await waitFor("a second wake-up", () => taken(h.lines).length === 2);
    expect(taken(h.lines).map((t) => t.shutdown)).toEqual([2, 2]);
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
