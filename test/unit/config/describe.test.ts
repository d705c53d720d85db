import { describe, expect, test } from "bun:test";
import { describeJob } from "../../../src/config/index.ts";
import { inJob, onlyJob } from "./helpers.ts";

describe("describeJob", () => {
  test.each([
    ["defaults only", [], "j: /bin/true"],
    ["cmd with quoted and empty arguments", ['cmd /bin/echo "two words" ""'], "j: /bin/echo \"two words\" \"\""],
    ["every field", [
      "dir /data", "in a.in", "out a.out", "err syslog", "user daemon", 'env GREETING="hi there"', "env A=1", "nice -5",
      "cpu 0,2-4,7", "ulimit -n 4096", "ulimit -c unlimited", "bounce every 90m", "depends {", "/etc/x", "}", "order 3",
      "wait", "once", "disable",
    ], "j: /bin/true (dir /data, in a.in, out a.out, err syslog, user daemon, env GREETING=\"hi there\", env A=1, nice -5, "
      + "cpu 0,2-4,7, ulimit RLIMIT_NOFILE=4096, ulimit RLIMIT_CORE=unlimited, bounce every 90m, depends /etc/x, order 3, "
      + "wait, once, disabled)"],
    ["bounce in the largest whole unit", ["bounce every 86400s"], "j: /bin/true (bounce every 1d)"],
    ["bounce in seconds", ["bounce every 61s"], "j: /bin/true (bounce every 61s)"],
    ["restart never is once", ["restart never"], "j: /bin/true (once)"],
    ["every SPEC §11-§15 setting", [
      "restart on-failure", "backoff 1s..5m", "stable 30s", "give up after 5 in 60s", "stop signal QUIT", "stop timeout 1500ms",
      "ready tcp [::1]:80 within 30s", "check exec /bin/ok \"a b\" every 10s", "out x.log", "rotate 10M keep 3",
      "on exit /bin/alert", "on fail /bin/page", "env file /etc/default/j",
    ], "j: /bin/true (out x.log, restart on-failure, backoff 1s..5m, stable 30s, give up after 5 in 1m, stop signal SIGQUIT, "
      + "stop timeout 1500ms, ready tcp [::1]:80 within 30s, check exec /bin/ok \"a b\" every 10s timeout 5s failures 3, rotate 10M keep 3, "
      + "on exit /bin/alert, on fail /bin/page, env file /etc/default/j)"],
  ])("%s", (_what, lines, line) => {
    const text = lines[0]?.startsWith("cmd") ? `job {\nname j\n${lines[0]}\n}` : inJob(...lines);
    expect(describeJob(onlyJob(text))).toBe(line);
  });
});
