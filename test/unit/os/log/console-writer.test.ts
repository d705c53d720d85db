import { expect, test } from "bun:test";
import { readSync } from "node:fs";
import { dlopen } from "bun:ffi";
import { libcPath } from "../../../../src/os/libc-path.ts";
import { createConsoleWriter } from "../../../../src/os/log/console-writer.ts";
import { openOutputPipe } from "../../../../src/os/log/pipe.ts";

const libc = dlopen(libcPath(), { fcntl: { args: ["i32", "i32", "i32"], returns: "i32" } }).symbols;
const O_NONBLOCK = 0o4000;

test("a full pipe: lines wait (the promise stays pending), then come out whole and in order once read", async () => {
  const pipe = openOutputPipe(); // read end non-blocking; make the write end so too, as /proc/self/fd/N is
  libc.fcntl(pipe.writeFd, 4, libc.fcntl(pipe.writeFd, 3, 0) | O_NONBLOCK);
  libc.fcntl(pipe.writeFd, 1031, 4096); // the smallest pipe: one page
  const writer = createConsoleWriter(pipe.writeFd);
  const lines = Array.from({ length: 400 }, (_, i) => `line ${i} ${"x".repeat(i % 40)}\n`);
  const pending: Promise<void>[] = [];
  for (const name of ["a", "b"]) {
    const result = writer.writeLines(name, new TextEncoder().encode(lines.join("")));
    if (result) pending.push(result);
  }
  expect(pending.length).toBeGreaterThan(0); // 400 lines do not fit in 4 KiB
  let settled = false;
  void Promise.all(pending).then(() => (settled = true));
  await Bun.sleep(30);
  expect(settled).toBe(false); // nobody reads: held, not dropped
  let out = "";
  const buf = Buffer.alloc(65536);
  while (!settled) {
    try {
      const n = readSync(pipe.readFd, buf, 0, buf.length, null);
      out += buf.subarray(0, n).toString();
    } catch {
      await Bun.sleep(2); // EAGAIN: the writer retries every few ms
    }
  }
  for (;;) {
    try {
      const n = readSync(pipe.readFd, buf, 0, buf.length, null);
      if (n === 0) break;
      out += buf.subarray(0, n).toString();
    } catch {
      break;
    }
  }
  expect(out).toBe(lines.map((l) => `a | ${l}`).join("") + lines.map((l) => `b | ${l}`).join(""));
});
