import { expect, test } from "bun:test";
import { decodeRequest, encode } from "../../../src/control/protocol.ts";

test.each([
  ['{"op":"status"}', { op: "status", names: [] }],
  ['{"op":"status","names":["a","b"]}', { op: "status", names: ["a", "b"] }],
  ['{"op":"stop","names":["a"]}', { op: "stop", names: ["a"] }],
  ['{"op":"signal","signal":"hup","names":["a"]}', { op: "signal", signal: "SIGHUP", names: ["a"] }],
  ['{"op":"reload"}', { op: "reload" }],
  ['{"op":"restart","all":true}', { op: "restart", names: [], all: true }],
  ['{"op":"status","all":true}', { op: "status", names: [], all: true }],
  ['{"op":"reopen"}', { op: "reopen" }],
  ['{"op":"config"}', { op: "config" }],
])("decodes %s", (line, request) => {
  expect(decodeRequest(line)).toEqual({ ok: true, request: request as never });
});

test.each([
  ["nope", "request is not JSON"],
  ["42", "request is not a JSON object"],
  ["null", "request is not a JSON object"],
  ['{"op":"status","names":"a"}', "request names must be a list of job names"],
  ['{"op":"status","names":["two words"]}', "request names must be a list of job names"],
  ['{"op":"status","names":[""]}', "request names must be a list of job names"],
  ['{"op":"start"}', "start needs at least one job name, or all"],
  ['{"op":"stop","all":true,"names":["a"]}', "give job names or all, not both"],
  ['{"op":"signal","signal":"NOPE","names":["a"]}', 'unknown signal "NOPE"'],
  ['{"op":"signal","signal":"HUP"}', "signal needs at least one job name"],
  ['{"op":"rm -rf"}', 'unknown request "rm -rf" (expected status, start, stop, restart, signal, reload, reopen or config)'],
  ["{}", "unknown request undefined (expected status, start, stop, restart, signal, reload, reopen or config)"],
])("refuses %s", (line, error) => {
  expect(decodeRequest(line)).toEqual({ ok: false, error });
});

test("encode writes one line", () => {
  expect(encode({ op: "status", names: ["a"] })).toBe('{"op":"status","names":["a"]}\n');
});
