// Every keyword's valid forms, and the field of the model each one sets.

import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../../src/config/index.ts";
import { makeJob } from "../../../src/config/defaults.ts";
import type { JobSpec } from "../../../src/config/model.ts";
import { inJob, onlyJob, valid } from "./helpers.ts";

// Where the block stands is not part of the definition (model.ts sameJob); not compared here.
const DEFAULTS: JobSpec = { ...makeJob({ name: "j", argv: ["/bin/true"] }), source: expect.anything() };

describe("a job with only name and cmd", () => {
  test("gets every default of SPEC §2", () => {
    expect(onlyJob(inJob())).toEqual(DEFAULTS);
  });
});

describe("job keywords", () => {
  test.each<[string, string[], Partial<JobSpec>]>([
    ["comments and blank lines inside the job", ["# a comment", "", "   # indented comment"], {}],
    ["dir", ["dir /data"], { dir: "/data" }],
    ["out relative", ["out demux.out"], { out: "demux.out" }],
    ["out absolute", ["out /var/log/demux.out"], { out: "/var/log/demux.out" }],
    ["out syslog", ["out syslog"], { out: "syslog" }],
    ["err", ["err demux.err"], { err: "demux.err" }],
    ["err syslog", ["err syslog"], { err: "syslog" }],
    ["in", ["in demux.in"], { in: "demux.in" }],
    ["user by name", ["user daemon"], { user: "daemon" }],
    ["user by uid", ["user 1000"], { user: "1000" }],
    ["user with dot and dash", ["user www-data.x"], { user: "www-data.x" }],
    ["env", ["env VAR=VALUE"], { env: ["VAR=VALUE"] }],
    ["env repeated, in order", ["env B=2", "env A=1"], { env: ["B=2", "A=1"] }],
    ["env empty value", ["env EMPTY="], { env: ["EMPTY="] }],
    ["env value with =", ["env OPTS=a=b"], { env: ["OPTS=a=b"] }],
    ["env quoted value", ['env GREETING="hello world"'], { env: ["GREETING=hello world"] }],
    ["env quoted whole", ['env "GREETING=hello world"'], { env: ["GREETING=hello world"] }],
    ["nice positive", ["nice 5"], { nice: 5 }],
    ["nice lowest", ["nice -20"], { nice: -20 }],
    ["nice highest", ["nice 19"], { nice: 19 }],
    ["nice with +", ["nice +3"], { nice: 3 }],
    ["cpu single", ["cpu 1"], { cpu: [1] }],
    ["cpu list and range", ["cpu 0,2-4"], { cpu: [0, 2, 3, 4] }],
    ["cpu unsorted with overlap", ["cpu 4,0-2,1"], { cpu: [0, 1, 2, 4] }],
    ["cpu hex mask", ["cpu 0x15"], { cpu: [0, 2, 4] }],
    ["cpu hex mask upper case", ["cpu 0XF0"], { cpu: [4, 5, 6, 7] }],
    ["cpu highest", ["cpu 1023"], { cpu: [1023] }],
    ["ulimit flag", ["ulimit -n 4096"], { ulimits: [{ resource: "RLIMIT_NOFILE", value: 4096 }] }],
    ["ulimit unlimited", ["ulimit -c unlimited"], { ulimits: [{ resource: "RLIMIT_CORE", value: "unlimited" }] }],
    ["ulimit infinity", ["ulimit -v infinity"], { ulimits: [{ resource: "RLIMIT_AS", value: "unlimited" }] }],
    ["ulimit RLIMIT name", ["ulimit RLIMIT_NPROC 100"], { ulimits: [{ resource: "RLIMIT_NPROC", value: 100 }] }],
    ["ulimit RLIMIT name without a letter", ["ulimit RLIMIT_LOCKS 0"], { ulimits: [{ resource: "RLIMIT_LOCKS", value: 0 }] }],
    ["ulimit block", ["ulimit {", "  -n 4096", "", "  # comment", "  -c unlimited", "}"],
      { ulimits: [{ resource: "RLIMIT_NOFILE", value: 4096 }, { resource: "RLIMIT_CORE", value: "unlimited" }] }],
    ["ulimit empty block", ["ulimit {", "}"], {}],
    ["ulimit block and line, in file order", ["ulimit -s 1", "ulimit {", "-n 2", "}", "ulimit -s 3"],
      { ulimits: [{ resource: "RLIMIT_STACK", value: 1 }, { resource: "RLIMIT_NOFILE", value: 2 }, { resource: "RLIMIT_STACK", value: 3 }] }],
    ["bounce seconds", ["bounce every 30s"], { bounceSec: 30 }],
    ["bounce minutes", ["bounce every 5m"], { bounceSec: 300 }],
    ["bounce hours", ["bounce every 12h"], { bounceSec: 43200 }],
    ["bounce days", ["bounce every 1d"], { bounceSec: 86400 }],
    ["bounce maximum", ["bounce every 365d"], { bounceSec: 31536000 }],
    ["depends", ["depends {", "  /etc/demux.conf", "}"], { depends: ["/etc/demux.conf"] }],
    ["depends several per line and blocks", ["depends {", "/a /b", "/c", "}", "depends {", "/d", "}"], { depends: ["/a", "/b", "/c", "/d"] }],
    ["depends empty", ["depends {", "}"], {}],
    ["order", ["order 2"], { order: 2 }],
    ["order negative", ["order -5"], { order: -5 }],
    ["wait", ["wait"], { wait: true }],
    ["once (the same as restart never)", ["once"], { once: true, policy: { ...DEFAULTS.policy, restart: "never" } }],
    ["disable", ["disable"], { disabled: true }],
    ["flags repeated are harmless", ["wait", "wait", "once", "once", "disable", "disable"], { wait: true, once: true, disabled: true, policy: { ...DEFAULTS.policy, restart: "never" } }],
  ])("%s", (_what, lines, fields) => {
    expect(onlyJob(inJob(...lines))).toEqual({ ...DEFAULTS, ...fields });
  });

  test.each<[string, string, string[]]>([
    ["no arguments", "cmd /bin/true", ["/bin/true"]],
    ["arguments", "cmd /usr/bin/demux -v --port=9", ["/usr/bin/demux", "-v", "--port=9"]],
    ["quoted argument", 'cmd /usr/bin/demux -v "two words"', ["/usr/bin/demux", "-v", "two words"]],
    ["empty argument", 'cmd /bin/echo "" x', ["/bin/echo", "", "x"]],
    ["keywords are plain words after the first", "cmd /bin/echo hello to world on every job {", ["/bin/echo", "hello", "to", "world", "on", "every", "job", "{"]],
    ["braces as arguments", "cmd /bin/echo } {", ["/bin/echo", "}", "{"]],
    ["# inside a word", "cmd /bin/echo a#b", ["/bin/echo", "a#b"]],
    ["quoted program path", 'cmd "/opt/my app/run"', ["/opt/my app/run"]],
  ])("cmd: %s", (_what, line, argv) => {
    expect(onlyJob(`job {\nname j\n${line}\n}`).argv).toEqual(argv);
  });

  test.each([["a.b-c_d"], ["web01"], ["x"], ["日本"]])("name %s", (name) => {
    expect(onlyJob(`job {\nname ${name}\ncmd /bin/true\n}`).name).toBe(name);
  });
});

describe("globals", () => {
  test("report to, repeatable, with and without @IFACE", () => {
    const config = valid("report to udp://127.0.0.1:9999\nreport to udp://239.0.0.1:5000@eth0\n");
    expect(config.reportTo).toEqual([
      { host: "127.0.0.1", port: 9999, iface: null },
      { host: "239.0.0.1", port: 5000, iface: "eth0" },
    ]);
    expect(config.listenOn).toBeNull();
    expect(config.jobs).toEqual([]);
  });

  test.each([
    ["udp://127.0.0.1:10000", { host: "127.0.0.1", port: 10000, iface: null }],
    ["udp://localhost:1", { host: "localhost", port: 1, iface: null }],
    ["udp://my-host.example.com:65535", { host: "my-host.example.com", port: 65535, iface: null }],
    ["udp://[::1]:9000", { host: "::1", port: 9000, iface: null }],
    ["udp://0.0.0.0:53", { host: "0.0.0.0", port: 53, iface: null }],
  ])("listen on %s", (url, address) => {
    expect(valid(`listen on ${url}`).listenOn).toEqual(address);
  });

  test("globals may come before, between and after jobs", () => {
    const config = valid(`report to udp://127.0.0.1:1\n${inJob()}listen on udp://127.0.0.1:2\njob {\nname k\ncmd /bin/true\n}\nreport to udp://127.0.0.1:3\n`);
    expect(config.reportTo.map((a) => a.port)).toEqual([1, 3]);
    expect(config.listenOn?.port).toBe(2);
    expect(config.jobs.map((j) => j.name)).toEqual(["j", "k"]);
  });
});

describe("the file as a whole", () => {
  test("an empty file is a valid configuration with no jobs", () => {
    expect(valid("")).toEqual({ jobs: [], reportTo: [], listenOn: null, metricsOn: null, includes: [], files: [] });
    expect(valid("# nothing yet\n\n")).toEqual({ jobs: [], reportTo: [], listenOn: null, metricsOn: null, includes: [], files: [] });
  });

  test("jobs keep file order", () => {
    const text = ["b", "a", "c"].map((n) => `job {\nname ${n}\ncmd /bin/true\n}\n`).join("\n");
    expect(valid(text).jobs.map((j) => j.name)).toEqual(["b", "a", "c"]);
  });

  test("CRLF files and a missing final newline work", () => {
    expect(onlyJob("job {\r\n  name j\r\n  cmd /bin/true\r\n}").name).toBe("j");
  });

  test("a UTF-8 byte-order mark is not part of the first keyword", () => {
    expect(onlyJob("\uFEFFjob {\nname j\ncmd /bin/true\n}").name).toBe("j");
  });

  test("the SPEC §2 example parses", () => {
    const config = valid(SPEC_EXAMPLE);
    expect(config.jobs[0]).toEqual({
      name: "demux", argv: ["/usr/bin/demux", "-v", "two words"], dir: "/data", out: "demux.out", err: "demux.err",
      in: "demux.in", user: "daemon", env: ["VAR=VALUE"], nice: 5, cpu: [0, 2, 3, 4],
      ulimits: [{ resource: "RLIMIT_NOFILE", value: 4096 }], bounceSec: 86400, depends: ["/etc/demux.conf"], order: 2,
      wait: true, once: true, disabled: true,
      policy: { ...DEFAULTS.policy, restart: "never" }, ready: null, after: [], check: null, rotate: null, hooks: DEFAULTS.hooks, envFiles: [],
      instance: null, source: expect.anything(),
    });
    expect(config.reportTo).toEqual([{ host: "127.0.0.1", port: 9999, iface: null }]);
    expect(config.listenOn).toEqual({ host: "127.0.0.1", port: 10000, iface: null });
  });

  test("the result is deeply frozen", () => {
    const result = parseConfig(inJob("env A=1", "cpu 1", "ulimit -n 1"));
    if (!result.ok) throw new Error("invalid");
    const job = result.config.jobs[0] as JobSpec;
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.config.jobs)).toBe(true);
    expect(Object.isFrozen(job)).toBe(true);
    expect(Object.isFrozen(job.argv)).toBe(true);
    expect(Object.isFrozen(job.env)).toBe(true);
    expect(Object.isFrozen(job.ulimits[0])).toBe(true);
    expect(() => (job.env as string[]).push("B=2")).toThrow();
  });

  test("the same text gives structurally equal jobs; any changed field makes them differ", async () => {
    const { sameJob } = await import("../../../src/config/model.ts");
    const a = onlyJob(inJob("nice 1"));
    expect(sameJob(a, onlyJob(inJob("nice 1")))).toBe(true);
    expect(sameJob(a, onlyJob(inJob("nice 2")))).toBe(false);
    // Comments, whitespace and spelling of an equivalent value do not matter.
    expect(sameJob(onlyJob(inJob("cpu 0,2")), onlyJob(`# x\njob {\n\tcmd   /bin/true\n name j # y\n cpu 0x5\n}`))).toBe(true);
  });
});

const SPEC_EXAMPLE = `# comment lines start with #; blank lines and indentation are free
report to udp://127.0.0.1:9999        # global, optional, repeatable
listen on udp://127.0.0.1:10000       # global, optional

job {
  name   demux                        # required, unique, no whitespace
  cmd    /usr/bin/demux -v "two words"  # required: absolute path + args; "..." groups one arg
  dir    /data                        # absolute working directory (default /)
  out    demux.out                    # stdout file, relative to dir; append; default /dev/null
  err    demux.err                    # stderr file, likewise
  in     demux.in                     # stdin file; default /dev/null
  user   daemon                       # run under this user's uid, gid and groups
  env    VAR=VALUE                    # repeatable
  nice   5                            # -20..19
  cpu    0,2-4                        # affinity: list/ranges or 0x hex mask
  ulimit -n 4096                      # repeatable; also: ulimit { -n 4096 \\n -c unlimited }
  bounce every 1d                     # periodic restart, units s m h d
  depends {                           # restart when any of these files' content changes
    /etc/demux.conf
  }
  order  2                            # lower starts first (default 0, stable)
  wait                                # later jobs start only after this one exits
  once                                # never restart this job
  disable                             # keep the definition, do not run it
}
`;
