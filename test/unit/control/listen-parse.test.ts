import { describe, expect, test } from "bun:test";
import { MAX_DATAGRAM_BYTES, parseControlDatagram } from "../../../src/control/listen-parse.ts";

const parse = (text: string | Uint8Array) => parseControlDatagram(typeof text === "string" ? new TextEncoder().encode(text) : text);

describe("valid datagrams", () => {
  test.each([
    ["enable a", [{ enabled: true, names: ["a"] }]],
    ["disable a b c", [{ enabled: false, names: ["a", "b", "c"] }]],
    ["enable a\n", [{ enabled: true, names: ["a"] }]],
    ["  \tdisable   a \r\n", [{ enabled: false, names: ["a"] }]],
    ["enable a b disable c", [{ enabled: true, names: ["a", "b"] }, { enabled: false, names: ["c"] }]],
    ["disable a\nenable b\n", [{ enabled: false, names: ["a"] }, { enabled: true, names: ["b"] }]],
    ["enable a\u00a0b c\u2028d", [{ enabled: true, names: ["a\u00a0b", "c\u2028d"] }]],
    ["\ufeffdisable a", [{ enabled: false, names: ["a"] }]],
  ])("%j", (text, requests) => {
    expect(parse(text)).toEqual({ ok: true, requests });
  });
});

describe("malformed datagrams are refused with one line", () => {
  test.each([
    ["", "empty control datagram ignored (expected enable NAME... or disable NAME...)"],
    [" \n", "empty control datagram ignored (expected enable NAME... or disable NAME...)"],
    ["start a", 'control datagram "start a" ignored (expected enable NAME... or disable NAME...)'],
    ["a enable b", 'control datagram "a enable b" ignored (expected enable NAME... or disable NAME...)'],
    ["enable", 'control datagram "enable" ignored: enable names no job'],
    ["enable a disable\n", 'control datagram "enable a disable" ignored: disable names no job'],
    ["ENABLE a", 'control datagram "ENABLE a" ignored (expected enable NAME... or disable NAME...)'],
    ["enable a\u0000b", "control datagram ignored: it contains control characters"],
    ["disable\va", "control datagram ignored: it contains control characters"],
    ["disable\fa", "control datagram ignored: it contains control characters"],
    // Only space, tab, CR and LF separate words, as in pmtr.conf: Unicode spaces and a
    // zero-width no-break space are part of a word, so none of these is "disable a". (A leading
    // byte-order mark is decoding's business: it is dropped, as in pmtr.conf.)
    ["disable\u00a0a", 'control datagram "disable\\u00a0a" ignored (expected enable NAME... or disable NAME...)'],
    ["disable\u3000a", 'control datagram "disable\\u3000a" ignored (expected enable NAME... or disable NAME...)'],
    ["disable\ufeffa", 'control datagram "disable\\ufeffa" ignored (expected enable NAME... or disable NAME...)'],
  ])("%j", (text, message) => {
    const result = parse(text);
    expect(result).toEqual({ ok: false, message });
    expect(message).not.toContain("\n");
  });

  test("not UTF-8", () => {
    expect(parse(new Uint8Array([0x65, 0x6e, 0xff, 0xfe]))).toEqual({ ok: false, message: "control datagram ignored: not UTF-8 text" });
  });

  test("oversized", () => {
    const big = `enable ${"a".repeat(MAX_DATAGRAM_BYTES)}`;
    expect(parse(big)).toEqual({ ok: false, message: `control datagram of ${big.length} bytes ignored (at most ${MAX_DATAGRAM_BYTES})` });
  });

  test("a long junk datagram is cut in the message", () => {
    const result = parse(`x${" y".repeat(200)}`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeLessThan(160);
  });
});
