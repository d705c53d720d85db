import { describe, expect, test } from "bun:test";
import { makeJob } from "../../../src/config/defaults.ts";
import { outputPlace } from "../../../src/control/logs-where.ts";

describe("outputPlace", () => {
  const job = (out: string, err: string) => makeJob({ name: "web", argv: ["/bin/true"], dir: "/srv/web", out, err });
  test("files, relative to dir", () => {
    expect(outputPlace(job("web.log", "/var/log/web.err"), "out", false)).toEqual({ kind: "file", path: "/srv/web/web.log" });
    expect(outputPlace(job("web.log", "/var/log/web.err"), "err", false)).toEqual({ kind: "file", path: "/var/log/web.err" });
  });
  test("syslog: journalctl under journald, the tag otherwise", () => {
    expect(outputPlace(job("syslog", "syslog"), "out", true)).toEqual({ kind: "elsewhere", text: "job web: stdout goes to syslog: journalctl -t web" });
    expect(outputPlace(job("syslog", "syslog"), "err", false).kind).toBe("elsewhere");
  });
  test("console and /dev/null", () => {
    expect(outputPlace(job("console", "/dev/null"), "out", false)).toMatchObject({ kind: "elsewhere", text: expect.stringContaining('"web | line"') });
    expect(outputPlace(job("console", "/dev/null"), "err", false)).toEqual({ kind: "elsewhere", text: "job web: stderr is discarded (err /dev/null)" });
  });
});
