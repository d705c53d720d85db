import { describe, expect, test } from "bun:test";
import { DEFAULT_CONFIG, parseArgs } from "../../src/cli.ts";

describe("parseArgs", () => {
  test("defaults", () => {
    expect(parseArgs([])).toEqual({
      kind: "run",
      options: { foreground: false, verbose: 0, configPath: DEFAULT_CONFIG, pidfile: null, checkOnly: false, diff: false, socketPath: null, logFile: null },
    });
  });

  test.each([
    [["-F", "-v", "-v", "-c", "/x.conf", "-p", "/run/p.pid"], { foreground: true, verbose: 2, configPath: "/x.conf", pidfile: "/run/p.pid", checkOnly: false, diff: false, socketPath: null, logFile: null }],
    [["-Fvv", "-c/x.conf", "-p/p"], { foreground: true, verbose: 2, configPath: "/x.conf", pidfile: "/p", checkOnly: false, diff: false, socketPath: null, logFile: null }],
    [["-vc", "/x.conf"], { foreground: false, verbose: 1, configPath: "/x.conf", pidfile: null, checkOnly: false, diff: false, socketPath: null, logFile: null }],
    [["-t", "-c", "a.conf"], { foreground: true, verbose: 0, configPath: "a.conf", pidfile: null, checkOnly: true, diff: false, socketPath: null, logFile: null }],
    [["-t", "--"], { foreground: true, verbose: 0, configPath: DEFAULT_CONFIG, pidfile: null, checkOnly: true, diff: false, socketPath: null, logFile: null }],
    [["-t", "--diff", "-c", "a.conf", "-s", "/s"], { foreground: true, verbose: 0, configPath: "a.conf", pidfile: null, checkOnly: true, diff: true, socketPath: "/s", logFile: null }],
    [["--diff", "-t"], { foreground: true, verbose: 0, configPath: DEFAULT_CONFIG, pidfile: null, checkOnly: true, diff: true, socketPath: null, logFile: null }],
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
    [["extra"], 'unknown command "extra" (expected status, start, stop, restart, signal, reload, reopen, logs)'],
    [["--", "extra"], 'unexpected argument "extra"'],
    [["--diff", "-c", "a.conf"], "--diff goes with -t (pmtr -t --diff -c FILE)"],
  ])("usage error %j", (args, message) => {
    expect(parseArgs(args)).toEqual({ kind: "usage-error", message });
  });

  test("-l LOGFILE for the daemon", () => {
    expect(parseArgs(["-F", "-l", "/var/log/p.log"])).toMatchObject({ kind: "run", options: { logFile: "/var/log/p.log" } });
    expect(parseArgs(["-l/p.log"])).toMatchObject({ kind: "run", options: { logFile: "/p.log" } });
    expect(parseArgs(["-l"])).toEqual({ kind: "usage-error", message: "option -l needs a file name" });
  });

  test("-s PATH for the daemon", () => {
    expect(parseArgs(["-F", "-s", "/x.sock"])).toMatchObject({ kind: "run", options: { foreground: true, socketPath: "/x.sock" } });
    expect(parseArgs(["-s/y.sock"])).toMatchObject({ kind: "run", options: { socketPath: "/y.sock" } });
  });
});

describe("parseArgs: client commands", () => {
  const client = (request: object, json = false, socketPath: string | null = null) => ({ kind: "client", request, json, socketPath });

  test.each([
    [["status"], client({ op: "status", names: [] })],
    [["status", "--json"], client({ op: "status", names: [] }, true)],
    [["status", "a", "--json", "b"], client({ op: "status", names: ["a", "b"] }, true)],
    [["status", "--all"], client({ op: "status", names: [], all: true })],
    [["restart", "--all"], client({ op: "restart", names: [], all: true })],
    [["stop", "--all", "-s", "/x.sock"], client({ op: "stop", names: [], all: true }, false, "/x.sock")],
    [["-s", "/p.sock", "status", "a"], client({ op: "status", names: ["a"] }, false, "/p.sock")],
    [["status", "-s", "/p.sock", "a"], client({ op: "status", names: ["a"] }, false, "/p.sock")],
    [["status", "-s/p.sock"], client({ op: "status", names: [] }, false, "/p.sock")],
    [["start", "a", "b"], client({ op: "start", names: ["a", "b"] })],
    [["stop", "a"], client({ op: "stop", names: ["a"] })],
    [["restart", "a"], client({ op: "restart", names: ["a"] })],
    [["stop", "--", "-odd"], client({ op: "stop", names: ["-odd"] })],
    [["signal", "HUP", "web"], client({ op: "signal", signal: "SIGHUP", names: ["web"] })],
    [["signal", "sigusr1", "a", "b"], client({ op: "signal", signal: "SIGUSR1", names: ["a", "b"] })],
    [["signal", "9", "a"], client({ op: "signal", signal: "SIGKILL", names: ["a"] })],
    [["reload"], client({ op: "reload" })],
    [["reopen"], client({ op: "reopen" })],
  ])("%j", (args, command) => {
    expect(parseArgs(args)).toEqual(command as never);
  });

  test.each([
    [["start"], "pmtr start needs at least one job name (or --all)"],
    [["restart"], "pmtr restart needs at least one job name (or --all)"],
    [["stop", "--all", "web"], "pmtr stop: give job names or --all, not both"],
    [["signal", "HUP", "--all"], 'unknown option "--all" for "pmtr signal"'],
    [["signal"], "pmtr signal needs a signal and at least one job name (e.g. pmtr signal HUP web)"],
    [["signal", "HUP"], "pmtr signal HUP needs at least one job name"],
    [["signal", "BOGUS", "a"], 'unknown signal "BOGUS" (use a name such as HUP, USR1, TERM, or a number)'],
    [["signal", "99", "a"], 'unknown signal "99" (use a name such as HUP, USR1, TERM, or a number)'],
    [["reload", "x"], 'pmtr reload takes no arguments (got "x")'],
    [["stop", "--json", "a"], 'unknown option "--json" for "pmtr stop"'],
    [["status", "-x"], 'unknown option "-x" for "pmtr status"'],
    [["status", "-s"], "option -s needs a file name"],
    [["-F", "status"], 'option -F does not apply to "pmtr status"'],
    [["-c", "/x.conf", "stop", "a"], 'option -c does not apply to "pmtr stop"'],
    [["stop", "--", "two words"], '"two words" is not a job name'],
  ])("usage error %j", (args, message) => {
    expect(parseArgs(args)).toEqual({ kind: "usage-error", message });
  });

  test("help after a command", () => expect(parseArgs(["status", "-h"]).kind).toBe("help"));
});

describe("parseArgs: logs", () => {
  const logs = (name: string, lines = 20, follow = false, configPath = DEFAULT_CONFIG) => ({ kind: "logs", name, lines, follow, configPath });
  test.each([
    [["logs", "web"], logs("web")],
    [["logs", "web", "-n", "5"], logs("web", 5)],
    [["logs", "-n5", "-f", "web"], logs("web", 5, true)],
    [["-c", "/x.conf", "logs", "web"], logs("web", 20, false, "/x.conf")],
    [["logs", "-c", "/y.conf", "web", "-f"], logs("web", 20, true, "/y.conf")],
  ])("%j", (args, command) => {
    expect(parseArgs(args)).toEqual(command as never);
  });
  test.each([
    [["logs"], "pmtr logs needs exactly one job name (got 0)"],
    [["logs", "a", "b"], "pmtr logs needs exactly one job name (got 2)"],
    [["logs", "a", "-n", "x"], 'pmtr logs -n needs a number of lines (got "x")'],
    [["logs", "a", "-z"], 'unknown option "-z" for "pmtr logs"'],
    [["-F", "logs", "a"], 'option -F does not apply to "pmtr logs"'],
  ])("usage error %j", (args, message) => {
    expect(parseArgs(args)).toEqual({ kind: "usage-error", message });
  });
});
