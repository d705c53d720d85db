// The sd_notify datagram format as daemons written for systemd send it.

import { describe, expect, test } from "bun:test";
import { parseNotify, STATUS_MAX_CHARS } from "../../../src/os/notify/message.ts";

describe("parseNotify", () => {
  test("READY=1 with a STATUS, as systemd-notify --ready --status sends them", () => {
    expect(parseNotify("READY=1\nSTATUS=hello world")).toEqual({ ready: true, stopping: false, watchdog: false, status: "hello world" });
  });
  test("WATCHDOG=1 and STOPPING=1 are recognised; unknown keys and MAINPID ignored", () => {
    expect(parseNotify("MAINPID=42\nWATCHDOG=1\nX_CUSTOM=y\nSTOPPING=1\n")).toEqual({ ready: false, stopping: true, watchdog: true, status: null });
  });
  test("READY=0, a bare READY and junk do not make a job ready", () => {
    for (const text of ["READY=0", "READY", "=1", "READY =1", "\u0000\u0001", ""]) expect(parseNotify(text).ready).toBe(false);
  });
  test("the last STATUS wins; control characters are blanked and length is bounded", () => {
    expect(parseNotify("STATUS=a\nSTATUS=b\tc").status).toBe("b c");
    expect(parseNotify(`STATUS=${"x".repeat(10_000)}`).status).toHaveLength(STATUS_MAX_CHARS);
  });
});
