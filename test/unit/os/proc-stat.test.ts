import { expect, test } from "bun:test";
import { readStatFields, statFields } from "../../../src/os/proc/proc-stat.ts";

test("fields follow the last ')': a command name with spaces and parentheses does not shift them", () => {
  const f = statFields("4242 (a) R 1 (b c) S 17 4242 4242 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 98765 0 512\n");
  expect(f?.slice(0, 3)).toEqual(["S", "17", "4242"]);
  expect(f?.[11]).toBe("7");
  expect(f?.[19]).toBe("98765");
  expect(statFields("garbled")).toBeNull();
});

test("our own process: running, our parent and group; a pid that does not exist is null", () => {
  const f = readStatFields(process.pid)!;
  expect(f[0]).toMatch(/^[RS]$/);
  expect(Number(f[1])).toBe(process.ppid);
  expect(readStatFields(2 ** 22 + 1)).toBeNull(); // above pid_max's largest value
});
