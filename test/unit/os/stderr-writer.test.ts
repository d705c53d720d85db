// The stderr writer never blocks: on a FIFO nobody reads, writes return at once, the queue
// stays within its bound, the excess is counted, and the count is written once a reader drains.

import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStderrWriter, MAX_QUEUED_LINES } from "../../../src/os/log/stderr-writer.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("a full FIFO: no block, bounded queue, drops counted, then reported when drained", async () => {
  dir = mkdtempSync(join(tmpdir(), "pmtr-stderr-writer-"));
  const fifo = join(dir, "fifo");
  if (Bun.spawnSync(["mkfifo", fifo]).exitCode !== 0) throw new Error("mkfifo failed (Debian package coreutils)");
  // Read and write ends in one descriptor, blocking: the writer must make its own non-blocking one.
  const fd = openSync(fifo, "r+");
  try {
    const w = createStderrWriter((n) => `DROPPED ${n}\n`, fd);
    const line = `${"x".repeat(99)}\n`;
    for (let i = 0; i < 5000; i++) w.write(line); // 500 KB: far beyond a pipe's 64 KB
    expect(w.queued).toBeLessThanOrEqual(MAX_QUEUED_LINES);
    expect(w.dropped).toBeGreaterThan(0);
    // Drain, as a reader that came back would, until the notice arrives.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const readSome = () => {
      try {
        return buf.toString("latin1", 0, readSync(reader, buf));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") return "";
        throw e;
      }
    };
    const buf = Buffer.alloc(65536);
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!/DROPPED \d+\n/.test(text)) {
      if (Date.now() > deadline) throw new Error(`no drop notice after draining; got ${text.length} bytes`);
      await Bun.sleep(5);
      text += readSome();
    }
    const dropped = Number(text.match(/DROPPED (\d+)\n/)![1]);
    // Every line was either delivered or counted, and the notice came after all delivered ones.
    const delivered = text.split("\n").filter((l) => l === "x".repeat(99)).length;
    expect(delivered + dropped).toBe(5000);
    expect(w.dropped).toBe(0);
    closeSync(reader);
  } finally {
    closeSync(fd);
  }
});
