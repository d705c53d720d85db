import { describe, expect, test } from "bun:test";
import { makeJob } from "../../../src/config/defaults.ts";
import { outputPlace } from "../../../src/control/logs-where.ts";

describe("outputPlace", () => {
  const job = (out: string, err: string) => makeJob({ name: "web", argv: ["/bin/true"], dir: "/srv/web", out, err });
  test("files, relative to dir", () => {
    expect(outputPlace(job("web.log", "/var/log/web.err"), "out", "none")).toEqual({ kind: "file", path: "/srv/web/web.log" });
    expect(outputPlace(job("web.log", "/var/log/web.err"), "err", "none")).toEqual({ kind: "file", path: "/var/log/web.err" });
  });
  test("syslog: journalctl under journald, the tag with another syslog, pmtr's stderr without one", () => {
    expect(outputPlace(job("syslog", "syslog"), "out", "journald")).toEqual({ kind: "elsewhere", text: "job web: stdout goes to syslog: journalctl -t web" });
    expect(outputPlace(job("syslog", "syslog"), "err", "syslog")).toEqual({ kind: "elsewhere", text: "job web: stderr goes to syslog, tagged web (e.g. grep 'web\\[' /var/log/syslog)" });
    // No /dev/log (a container): the lines are on pmtr's stderr, and lost in the background.
    expect(outputPlace(job("syslog", "syslog"), "out", "none")).toMatchObject({ kind: "elsewhere", text: expect.stringContaining(`no syslog at /dev/log: pmtr writes the lines to its own stderr as "web[PID]: line"`) });
  });
  test("console and /dev/null", () => {
    expect(outputPlace(job("console", "/dev/null"), "out", "none")).toMatchObject({ kind: "elsewhere", text: expect.stringContaining('"web | line"') });
    expect(outputPlace(job("console", "/dev/null"), "err", "none")).toEqual({ kind: "elsewhere", text: "job web: stderr is discarded (err /dev/null)" });
  });
});
