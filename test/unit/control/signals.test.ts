import { expect, test } from "bun:test";
import { parseSignal } from "../../../src/control/signals.ts";

test.each([
  ["HUP", "SIGHUP"], ["hup", "SIGHUP"], ["SIGHUP", "SIGHUP"], ["sigusr2", "SIGUSR2"], ["1", "SIGHUP"], ["9", "SIGKILL"], ["15", "SIGTERM"],
  ["BOGUS", null], ["0", null], ["32", null], ["", null], ["SIG", null], ["toString", null], ["-1", null],
])("parseSignal(%j) = %j", (text, name) => {
  expect(parseSignal(text)).toBe(name);
});
