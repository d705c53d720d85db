// The output reader thread (src/os/log/reader.ts, reader.c): readiness through epoll in a
// thread of its own, reads into one reused buffer, the thread gone once nothing is watched.
// Real pipes and real writer processes.

import { describe, expect, test } from "bun:test";
import { closeSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { pumpOutput } from "../../../../src/os/log/output-pump.ts";
import { openOutputPipe } from "../../../../src/os/log/pipe.ts";
import { readBuffer, watchFd } from "../../../../src/os/log/reader.ts";
import { waitFor } from "../../../helpers.ts";

/** This process's threads named pmtr-output (reader.c names its thread so). */
function readerThreads(): number {
  let n = 0;
  for (const task of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim() === "pmtr-output") n++;
    } catch {} // a thread that just ended
  }
  return n;
}

describe("the output reader", () => {
  test("reports a pipe readable, reads it into the shared buffer, sees end-of-file; its thread ends with the last pipe", async () => {
    const pipe = openOutputPipe();
    const watched = watchFd(pipe.readFd);
    // (A thread stopped by an earlier test may take a moment to end.)
    await waitFor("one reader thread", () => readerThreads() === 1, 10_000);
    expect(watched.read()).toBe(-1); // empty for now
    let ready = false;
    const readable = watched.readable().then(() => (ready = true));
    // Nothing to read: the wait is still pending after the loop has turned a few times.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(ready).toBe(false);
    writeSync(pipe.writeFd, "hello\n");
    await readable;
    expect(watched.read()).toBe(6);
    expect(Buffer.from(readBuffer().subarray(0, 6)).toString()).toBe("hello\n");
    expect(watched.read()).toBe(-1);
    closeSync(pipe.writeFd);
    await watched.readable(); // end-of-file is a readiness too
    expect(watched.read()).toBe(0);
    watched.close();
    await waitFor("the reader thread to end", () => readerThreads() === 0, 10_000);
  });

  test("10 writers at once through pumpOutput: every line of each, in order; then no thread", async () => {
    const LINES = 100_000;
    const expected = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join("");
    const runs = Array.from({ length: 10 }, () => {
      const pipe = openOutputPipe();
      const writer = Bun.spawn(["seq", String(LINES)], { stdin: "ignore", stdout: pipe.writeFd, stderr: "inherit" });
      closeSync(pipe.writeFd);
      const got: string[] = [];
      const done = pumpOutput(pipe.readFd, {
        sink: { write: (head, lines) => void got.push(Buffer.from(head).toString(), Buffer.from(lines).toString()) },
        onStall: () => {},
        onReaderFallback: (reason) => {
          throw new Error(`the reader thread was not used: ${reason}`);
        },
      });
      return { writer, got, done };
    });
    await Promise.all(runs.map((r) => r.done));
    for (const r of runs) {
      expect(await r.writer.exited).toBe(0);
      expect(r.got.join("")).toBe(expected);
    }
    await waitFor("the reader thread to end", () => readerThreads() === 0, 10_000);
  });
});
