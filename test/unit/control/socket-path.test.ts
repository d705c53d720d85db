import { expect, test } from "bun:test";
import { defaultSocketPath } from "../../../src/control/socket-path.ts";

test("root uses /run/pmtr.sock whatever the environment says", () => {
  expect(defaultSocketPath(0, { XDG_RUNTIME_DIR: "/run/user/0" })).toBe("/run/pmtr.sock");
});

test("others use $XDG_RUNTIME_DIR, else /tmp/pmtr-UID.sock", () => {
  expect(defaultSocketPath(1000, { XDG_RUNTIME_DIR: "/run/user/1000" })).toBe("/run/user/1000/pmtr.sock");
  expect(defaultSocketPath(1000, { XDG_RUNTIME_DIR: "/run/user/1000/" })).toBe("/run/user/1000/pmtr.sock");
  expect(defaultSocketPath(1000, {})).toBe("/tmp/pmtr-1000.sock");
  expect(defaultSocketPath(1000, { XDG_RUNTIME_DIR: "relative" })).toBe("/tmp/pmtr-1000.sock");
});
