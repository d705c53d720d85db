import { describe, expect, test } from "bun:test";
import { DEFAULT_CONFIG, parseArgs } from "../../src/cli.ts";

describe("parseArgs", () => {
  test("defaults", () => {
    expect(parseArgs([])).toEqual({
      kind: "run",
      options: { foreground: false, verbose: 0, configPath: DEFAULT_CONFIG, pidfile: null, checkOnly: false },
    });
  });

  test.each([
    [["-F", "-v", "-v", "-c", "/x.conf", "-p", "/run/p.pid"], { foreground: true, verbose: 2, configPath: "/x.conf", pidfile: "/run/p.pid", checkOnly: false }],
    [["-Fvv", "-c/x.conf", "-p/p"], { foreground: true, verbose: 2, configPath: "/x.conf", pidfile: "/p", checkOnly: false }],
    [["-vc", "/x.conf"], { foreground: false, verbose: 1, configPath: "/x.conf", pidfile: null, checkOnly: false }],
    [["-t", "-c", "a.conf"], { foreground: true, verbose: 0, configPath: "a.conf", pidfile: null, checkOnly: true }],
    [["-t", "--"], { foreground: true, verbose: 0, configPath: DEFAULT_CONFIG, pidfile: null, checkOnly: true }],
  ])("%j", (args, options) => {
    expect(parseArgs(args)).toEqual({ kind: "run", options });
  });

  test.each([[["-h"]], [["--help"]], [["-F", "-h", "-x"]]])("help %j", (args) => {
    expect(parseArgs(args).kind).toBe("help");
  });

  test("version", () => expect(parseArgs(["--version"])).toEqual({ kind: "version" }));

  test.each([
    [["-x"], 'unknown option "-x"'],
    [["--verbose"], 'unknown option "--verbose"'],
    [["-c"], "option -c needs a file name"],
    [["-p"], "option -p needs a file name"],
    [["-c", ""], "option -c needs a file name"],
    [["extra"], 'unexpected argument "extra"'],
    [["--", "extra"], 'unexpected argument "extra"'],
  ])("usage error %j", (args, message) => {
    expect(parseArgs(args)).toEqual({ kind: "usage-error", message });
  });
});
