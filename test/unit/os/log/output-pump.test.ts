import { describe, expect, test } from "bun:test";
import { closeSync, writeSync } from "node:fs";
import { pumpOutput } from "../../../../src/os/log/output-pump.ts";
import { openOutputPipe } from "../../../../src/os/log/pipe.ts";
import { AppendError } from "../../../../src/os/log/rotating-file.ts";

const text = (parts: Uint8Array[]) => Buffer.concat(parts).toString();

describe("pumpOutput", () => {
  test("whole lines only, the last one given a newline at end-of-file", async () => {
    const pipe = openOutputPipe();
    const got: string[] = [];
    const done = pumpOutput(pipe.readFd, { sink: { write: (head, lines) => void got.push(text([head, lines])) }, onStall: () => {} });
    writeSync(pipe.writeFd, "one\ntw");
    await Bun.sleep(20);
    writeSync(pipe.writeFd, "o\nthree");
    closeSync(pipe.writeFd);
    await done;
    expect(got.every((g) => g.endsWith("\n"))).toBe(true);
    expect(got.join("")).toBe("one\ntwo\nthree\n");
  });

  test("a sink that fails part way gets the rest again, once, and the stall is reported once and cleared", async () => {
    const pipe = openOutputPipe();
    let failures = 0;
    const written: string[] = [];
    const stalls: Array<string | null> = [];
    const done = pumpOutput(pipe.readFd, {
      retryMs: 5,
      onStall: (e) => stalls.push(e === null ? null : String((e as Error).message)),
      sink: {
        write(head, lines) {
          const all = text([head, lines]);
          if (failures < 3) {
            failures++;
            written.push(all.slice(0, 2)); // two bytes made it, then the disk was full
            throw new AppendError(2, new Error("ENOSPC"));
          }
          written.push(all);
        },
      },
    });
    writeSync(pipe.writeFd, "abcdef\nghi\n");
    closeSync(pipe.writeFd);
    await done;
    expect(written.join("")).toBe("abcdef\nghi\n");
    expect(stalls).toEqual(["ENOSPC", null]);
  });
});
