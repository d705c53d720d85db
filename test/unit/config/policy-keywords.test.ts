// SPEC §11–§15 keywords inside a job: every valid form and the field it sets, and every error
// with its line and message (FILE:LINE message naming the value and the expected form).

import { describe, expect, test } from "bun:test";
import { DEFAULT_POLICY, makeJob } from "../../../src/config/defaults.ts";
import type { JobSpec } from "../../../src/config/model.ts";
import { errorsOf, inJob, onlyJob, valid } from "./helpers.ts";

const DEFAULTS: JobSpec = { ...makeJob({ name: "j", argv: ["/bin/true"] }), source: expect.anything() };
const policy = (over: Partial<JobSpec["policy"]>): Partial<JobSpec> => ({ policy: { ...DEFAULT_POLICY, ...over } });

describe("valid forms (SPEC §11–§15)", () => {
  test.each<[string, string[], Partial<JobSpec>]>([
    ["restart always", ["restart always"], policy({ restart: "always" })],
    ["restart on-failure", ["restart on-failure"], policy({ restart: "on-failure" })],
    ["restart never is once", ["restart never"], { once: true, ...policy({ restart: "never" }) }],
    ["restart never and once together", ["restart never", "once"], { once: true, ...policy({ restart: "never" }) }],
    ["backoff sets jitter", ["backoff 1s..5m"], policy({ backoffMinMs: 1000, backoffMaxMs: 300_000, jitter: true })],
    ["backoff equal ends", ["backoff 500ms..500ms"], policy({ backoffMinMs: 500, backoffMaxMs: 500, jitter: true })],
    ["backoff in hours and days", ["backoff 1h..1d"], policy({ backoffMinMs: 3_600_000, backoffMaxMs: 86_400_000, jitter: true })],
    ["stable", ["stable 30s"], policy({ stableMs: 30_000 })],
    ["stable in minutes", ["stable 2m"], policy({ stableMs: 120_000 })],
    ["give up", ["give up after 5 in 60s"], policy({ giveUp: { count: 5, windowMs: 60_000 } })],
    ["stop signal short name", ["stop signal QUIT"], policy({ stopSignal: "SIGQUIT" })],
    ["stop signal full name", ["stop signal SIGINT"], policy({ stopSignal: "SIGINT" })],
    ["stop signal lower case", ["stop signal hup"], policy({ stopSignal: "SIGHUP" })],
    ["stop signal number", ["stop signal 10"], policy({ stopSignal: "SIGUSR1" })],
    ["stop timeout", ["stop timeout 30s"], policy({ stopTimeoutMs: 30_000 })],
    ["stop signal and timeout", ["stop signal KILL", "stop timeout 1s"], policy({ stopSignal: "SIGKILL", stopTimeoutMs: 1000 })],
    ["ready tcp", ["ready tcp 127.0.0.1:5432"], { ready: { probe: { kind: "tcp", host: "127.0.0.1", port: 5432 }, withinMs: 60_000 } }],
    ["ready tcp host name, within", ["ready tcp localhost:80 within 30s"], { ready: { probe: { kind: "tcp", host: "localhost", port: 80 }, withinMs: 30_000 } }],
    ["ready tcp IPv6", ["ready tcp [::1]:8080"], { ready: { probe: { kind: "tcp", host: "::1", port: 8080 }, withinMs: 60_000 } }],
    ["ready http", ["ready http http://127.0.0.1:8080/healthz"], { ready: { probe: { kind: "http", url: "http://127.0.0.1:8080/healthz" }, withinMs: 60_000 } }],
    ["ready https", ["ready http https://example.com/ within 2m"], { ready: { probe: { kind: "http", url: "https://example.com/" }, withinMs: 120_000 } }],
    ["ready file", ["ready file /run/web.sock"], { ready: { probe: { kind: "file", path: "/run/web.sock" }, withinMs: 60_000 } }],
    ["ready exec with args", ['ready exec /usr/local/bin/db-ok --quiet "a b"'], { ready: { probe: { kind: "exec", argv: ["/usr/local/bin/db-ok", "--quiet", "a b"] }, withinMs: 60_000 } }],
    ["ready exec, within", ["ready exec /bin/ok within 5s"], { ready: { probe: { kind: "exec", argv: ["/bin/ok"] }, withinMs: 5000 } }],
    ["ready exec, a quoted within is an argument", ['ready exec /bin/ok "within" 5s'], { ready: { probe: { kind: "exec", argv: ["/bin/ok", "within", "5s"] }, withinMs: 60_000 } }],
    ["ready notify", ["ready notify"], { ready: { probe: { kind: "notify" }, withinMs: 60_000 } }],
    ["ready notify within", ["ready notify within 90s"], { ready: { probe: { kind: "notify" }, withinMs: 90_000 } }],
    ["check with defaults", ["check tcp 127.0.0.1:6379"], { check: { probe: { kind: "tcp", host: "127.0.0.1", port: 6379 }, everyMs: 30_000, timeoutMs: 5000, failures: 3 } }],
    ["check with every option", ["check http http://127.0.0.1:8080/healthz every 10s timeout 2s failures 3"],
      { check: { probe: { kind: "http", url: "http://127.0.0.1:8080/healthz" }, everyMs: 10_000, timeoutMs: 2000, failures: 3 } }],
    ["check options in any order", ["check exec /bin/ok -q failures 1 every 1m"], { check: { probe: { kind: "exec", argv: ["/bin/ok", "-q"] }, everyMs: 60_000, timeoutMs: 5000, failures: 1 } }],
    ["rotate", ["out web.log", "rotate 10M"], { out: "web.log", rotate: { maxBytes: 10 * 1024 * 1024, keep: 5 } }],
    ["rotate keep", ["err /var/log/e.log", "rotate 512K keep 1"], { err: "/var/log/e.log", rotate: { maxBytes: 512 * 1024, keep: 1 } }],
    ["rotate G", ["out x.log", "rotate 1G keep 10"], { out: "x.log", rotate: { maxBytes: 1024 ** 3, keep: 10 } }],
    ["rotate with out console and err a file", ["out console", "err e.log", "rotate 1M"], { out: "console", err: "e.log", rotate: { maxBytes: 1024 ** 2, keep: 5 } }],
    ["out console", ["out console"], { out: "console" }],
    ["err console", ["err console"], { err: "console" }],
    ["on exit", ["on exit /usr/local/bin/alert --job web"], { hooks: { onExit: ["/usr/local/bin/alert", "--job", "web"], onFail: null } }],
    ["on fail, quoted argument", ['on fail /usr/local/bin/page-me "it failed"'], { hooks: { onExit: null, onFail: ["/usr/local/bin/page-me", "it failed"] } }],
    ["on exit and on fail", ["on exit /a", "on fail /b"], { hooks: { onExit: ["/a"], onFail: ["/b"] } }],
    ["env file", ["env file /etc/default/web"], { envFiles: ["/etc/default/web"] }],
    ["env file repeated, with env", ["env file /a", "env A=1", "env file /b"], { envFiles: ["/a", "/b"], env: ["A=1"] }],
    ["an env variable may still be named file", ["env file=x"], { env: ["file=x"] }],
  ])("%s", (_what, lines, fields) => {
    expect(onlyJob(inJob(...lines))).toEqual({ ...DEFAULTS, ...fields });
  });

  test("instances 1 is one instance, named j.1", () => {
    const { jobs } = valid(inJob("instances 1"));
    expect(jobs.map((j) => [j.name, j.instance])).toEqual([["j.1", { base: "j", index: 1 }]]);
  });

  test("source names the file, the line of job { and of each keyword (env file by path)", () => {
    const { jobs } = valid(`\n\n${inJob("user daemon", "env file /a", "env A=1", "env file /b")}`);
    expect(jobs[0]?.source).toEqual({ file: "", line: 3, lines: { name: 4, cmd: 5, user: 6, env: 7, "env file /a": 7, "env file /b": 9 } });
  });
});

describe("metrics on", () => {
  test.each([
    ["http://127.0.0.1:9464", { host: "127.0.0.1", port: 9464 }],
    ["http://127.0.0.1:9464/", { host: "127.0.0.1", port: 9464 }],
    ["http://localhost:1", { host: "localhost", port: 1 }],
    ["http://[::1]:9464", { host: "::1", port: 9464 }],
  ])("%s", (url, address) => {
    expect(valid(`metrics on ${url}\n`).metricsOn).toEqual(address);
  });
  test("absent: null", () => {
    expect(valid(inJob()).metricsOn).toBeNull();
  });
});

type Case = [what: string, text: string, errors: [line: number, message: string][]];

function table(cases: Case[]): void {
  test.each(cases)("%s", (_what, text, expected) => {
    expect(errorsOf(text).map((e) => [e.line, e.message])).toEqual(expected);
  });
}

const DURATION = "expected a positive integer and a unit ms, s, m, h or d, e.g. 30s";

describe("errors (extra lines start at line 4)", () => {
  table([
    ["restart unknown", inJob("restart sometimes"), [[4, 'restart "sometimes" is not one of always, on-failure, never']]],
    ["restart without value", inJob("restart"), [[4, "restart takes one value, got nothing (expected: restart always|on-failure|never)"]]],
    ["restart twice", inJob("restart always", "restart never"), [[5, "restart given twice in this job (first on line 4)"]]],
    ["restart always with once", inJob("once", "restart always"), [[5, "restart always contradicts once on line 4 (once means restart never: remove one of them)"]]],
    ["backoff reversed", inJob("backoff 5m..1s"), [[4, "backoff 5m..1s: the minimum is larger than the maximum"]]],
    ["backoff without ..", inJob("backoff 5s"), [[4, 'backoff "5s" is not MIN..MAX (e.g. backoff 1s..5m)']]],
    ["backoff minimum without unit", inJob("backoff 1..5s"), [[4, "backoff minimum 1 needs a unit: ms, s, m, h or d (e.g. 1s)"]]],
    ["backoff maximum not a duration", inJob("backoff 1s..forever"), [[4, `backoff maximum "forever" is not a duration (${DURATION})`]]],
    ["backoff zero", inJob("backoff 0s..1s"), [[4, "backoff minimum 0s must be positive"]]],
    ["stable without unit", inJob("stable 30"), [[4, "stable 30 needs a unit: ms, s, m, h or d (e.g. 30s)"]]],
    ["stable negative", inJob("stable -1s"), [[4, `stable "-1s" is not a duration (${DURATION})`]]],
    ["stable fraction", inJob("stable 1.5s"), [[4, `stable "1.5s" is not a duration (${DURATION})`]]],
    ["stable too long", inJob("stable 366d"), [[4, "stable 366d is longer than the maximum of 365d"]]],
    ["give up misspelt", inJob("give up after 5 within 60s"), [[4, 'give must be written give up after N in DURATION, e.g. give up after 5 in 60s (got "give" "up" "after" "5" ...)']]],
    ["give up count zero", inJob("give up after 0 in 60s"), [[4, "give up after 0 is out of range 1..1000000"]]],
    ["give up window without unit", inJob("give up after 5 in 60"), [[4, "give up window 60 needs a unit: ms, s, m, h or d (e.g. 60s)"]]],
    ["stop alone", inJob("stop"), [[4, "stop must be written stop signal NAME or stop timeout DURATION, e.g. stop signal QUIT (got \"stop\")"]]],
    ["stop something", inJob("stop now"), [[4, 'stop must be written stop signal NAME or stop timeout DURATION, e.g. stop signal QUIT (got "stop" "now")']]],
    ["stop signal unknown", inJob("stop signal FOO"), [[4, 'stop signal "FOO" is not a signal (expected a name such as QUIT or SIGQUIT, or a number 1..31)']]],
    ["stop signal number out of range", inJob("stop signal 99"), [[4, 'stop signal "99" is not a signal (expected a name such as QUIT or SIGQUIT, or a number 1..31)']]],
    ["stop signal twice", inJob("stop signal QUIT", "stop timeout 5s", "stop signal INT"), [[6, "stop signal given twice in this job (first on line 4)"]]],
    ["stop timeout zero", inJob("stop timeout 0s"), [[4, "stop timeout 0s must be positive"]]],
    ["ready unknown probe", inJob("ready udp x"), [[4, 'ready "udp" is not a probe: expected ready tcp HOST:PORT|http URL|file /PATH|exec /PROGRAM ARGS|notify [within DURATION]']]],
    ["ready nothing", inJob("ready"), [[4, "ready nothing is not a probe: expected ready tcp HOST:PORT|http URL|file /PATH|exec /PROGRAM ARGS|notify [within DURATION]"]]],
    ["ready tcp without port", inJob("ready tcp 127.0.0.1"), [[4, 'ready tcp "127.0.0.1" is not HOST:PORT (e.g. 127.0.0.1:5432)']]],
    ["ready tcp bad port", inJob("ready tcp 127.0.0.1:99999"), [[4, 'ready tcp port "99999" is out of range 1..65535']]],
    ["ready tcp bad host", inJob("ready tcp a_b:80"), [[4, 'ready tcp host "a_b" is not an IP address or host name']]],
    ["ready tcp two values", inJob("ready tcp a:1 b:2"), [[4, 'ready tcp takes one value, got "a:1" "b:2" (expected: tcp HOST:PORT, e.g. tcp 127.0.0.1:5432)']]],
    ["ready http not a URL", inJob("ready http 127.0.0.1:80"), [[4, 'ready http "127.0.0.1:80" is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/healthz)']]],
    ["ready http ftp", inJob("ready http ftp://x/"), [[4, 'ready http "ftp://x/" is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/healthz)']]],
    ["ready file relative", inJob("ready file web.sock"), [[4, 'ready file "web.sock" is not an absolute path (it must start with /, e.g. /run/web.sock)']]],
    ["ready exec relative", inJob("ready exec db-ok"), [[4, 'ready exec "db-ok" is not an absolute path (pmtr does not search PATH: write the full path)']]],
    ["ready exec nothing", inJob("ready exec"), [[4, "ready exec needs a program (expected: ready exec /path/to/program ARGS)"]]],
    ["ready notify with a value", inJob("ready notify now"), [[4, 'ready notify takes no value (got "now")']]],
    ["ready within bad", inJob("ready notify within soon"), [[4, `ready within "soon" is not a duration (${DURATION})`]]],
    ["ready twice", inJob("ready notify", "ready notify"), [[5, "ready given twice in this job (first on line 4)"]]],
    ["quoted probe kind", inJob('ready "tcp" a:1'), [[4, 'ready "tcp" is not a probe: expected ready tcp HOST:PORT|http URL|file /PATH|exec /PROGRAM ARGS|notify [within DURATION]']]],
    ["check file", inJob("check file /x"), [[4, 'check "file" is not a probe (file is only for ready): expected check tcp HOST:PORT|http URL|exec /PROGRAM ARGS [every DURATION] [timeout DURATION] [failures N]']]],
    ["check notify", inJob("check notify"), [[4, 'check "notify" is not a probe (notify is only for ready): expected check tcp HOST:PORT|http URL|exec /PROGRAM ARGS [every DURATION] [timeout DURATION] [failures N]']]],
    ["check every without unit", inJob("check tcp a:1 every 10"), [[4, "check every 10 needs a unit: ms, s, m, h or d (e.g. 10s)"]]],
    ["check failures zero", inJob("check tcp a:1 failures 0"), [[4, "check failures 0 is out of range 1..1000"]]],
    ["check option twice", inJob("check tcp a:1 every 1s every 2s"), [[4, 'check tcp takes one value, got "a:1" "every" "1s" (expected: tcp HOST:PORT, e.g. tcp 127.0.0.1:5432)']]],
    ["rotate without unit", inJob("out x", "rotate 10"), [[5, "rotate 10 needs a unit: K, M or G (e.g. 10M)"]]],
    ["rotate bad size", inJob("out x", "rotate big"), [[5, 'rotate "big" is not a size (expected a positive integer and K, M or G, e.g. 10M)']]],
    ["rotate zero", inJob("out x", "rotate 0M"), [[5, "rotate 0M must be positive"]]],
    ["rotate keep zero", inJob("out x", "rotate 1M keep 0"), [[5, "rotate keep 0 is out of range 1..1000"]]],
    ["rotate keep without number", inJob("out x", "rotate 1M keep"), [[5, 'rotate must be written rotate SIZE [keep N], e.g. rotate 10M keep 5 (got "1M" "keep")']]],
    ["rotate without a file output", inJob("rotate 10M"), [[4, "rotate needs out or err to be a file (they are /dev/null and /dev/null: add e.g. out web.log)"]]],
    ["rotate with syslog and console", inJob("out syslog", "err console", "rotate 10M"), [[6, "rotate needs out or err to be a file (they are syslog and console: add e.g. out web.log)"]]],
    ["on unknown event", inJob("on start /x"), [[4, 'on must be written on exit /PROGRAM ARGS or on fail /PROGRAM ARGS (got "start" "/x")']]],
    ["on exit relative", inJob("on exit alert"), [[4, 'on exit "alert" is not an absolute path (pmtr does not search PATH: write the full path)']]],
    ["on exit nothing", inJob("on exit"), [[4, "on exit needs a program (expected: on exit /path/to/program ARGS)"]]],
    ["on exit twice", inJob("on exit /a", "on exit /b"), [[5, "on exit given twice in this job (first on line 4)"]]],
    ["env file relative", inJob("env file default/web"), [[4, 'env file "default/web" is not an absolute path (it must start with /)']]],
    ["env file nothing", inJob("env file"), [[4, "env file takes one path, got nothing (expected: env file /absolute/path)"]]],
    ["env file two paths", inJob("env file /a /b"), [[4, 'env file takes one path, got "/a" "/b" (expected: env file /absolute/path)']]],
    ["instances zero", inJob("instances 0"), [[4, "instances 0 is out of range 1..1000"]]],
    ["instances too many", inJob("instances 1001"), [[4, "instances 1001 is out of range 1..1000"]]],
    ["instances not a number", inJob("instances many"), [[4, 'instances "many" is not an integer (expected 1..1000)']]],
    ["instances twice", inJob("instances 2", "instances 3"), [[5, "instances given twice in this job (first on line 4)"]]],
  ]);
});

describe("global errors", () => {
  table([
    ["metrics on https", "metrics on https://127.0.0.1:9464", [[1, 'metrics on "https://127.0.0.1:9464" is not an http://HOST:PORT address (e.g. http://127.0.0.1:9464)']]],
    ["metrics on with a path", "metrics on http://127.0.0.1:9464/metrics", [[1, 'metrics on "http://127.0.0.1:9464/metrics" is not an http://HOST:PORT address (e.g. http://127.0.0.1:9464)']]],
    ["metrics on bad port", "metrics on http://127.0.0.1:0", [[1, 'metrics on port "0" is out of range 1..65535']]],
    ["metrics without on", "metrics http://127.0.0.1:1", [[1, 'metrics must be written metrics on http://HOST:PORT (got "metrics http://127.0.0.1:1")']]],
    ["metrics on twice", "metrics on http://127.0.0.1:1\nmetrics on http://127.0.0.1:2", [[2, "metrics on given twice (first on line 1)"]]],
    ["metrics on inside a job", inJob("metrics on http://127.0.0.1:1"), [[4, "metrics on is a global setting: move it outside the job block"]]],
    ["include relative", "include pmtr.d/*.conf", [[1, 'include "pmtr.d/*.conf" is not an absolute path (e.g. include /etc/pmtr.d/*.conf)']]],
    ["include glob in a directory", "include /etc/*/x.conf", [[1, 'include "/etc/*/x.conf": a wildcard is only allowed in the last path component (e.g. /etc/pmtr.d/*.conf)']]],
    ["include a directory", "include /etc/pmtr.d/", [[1, 'include "/etc/pmtr.d/" names a directory: add the files\' pattern (e.g. /etc/pmtr.d/*.conf)']]],
    ["include two words", "include /a /b", [[1, 'include must be written include /absolute/dir/GLOB, e.g. include /etc/pmtr.d/*.conf (got "include /a /b")']]],
    ["include inside a job", inJob("include /a/*.conf"), [[4, "include is a global setting: move it outside the job block"]]],
  ]);
});
