// `pmtr -t --diff` output (SPEC §15): one line per job that changes, in the file's words, then
// how many are unchanged; computed from planReload, the function the reload applies.

import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../../src/config/index.ts";
import type { Config } from "../../../src/config/model.ts";
import { formatPlan } from "../../../src/control/plan-format.ts";
import { planReload } from "../../../src/core/reconcile.ts";

function config(text: string): Config {
  const r = parseConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const job = (name: string, ...extra: string[]) => `job {\n name ${name}\n cmd /bin/sleep 600\n${extra.map((l) => ` ${l}\n`).join("")}}\n`;

describe("formatPlan", () => {
  test("start, stop, restart with the changed keywords, apply in place, unchanged count", () => {
    const before = config(job("keep") + job("gone") + job("web", "nice 1") + job("db", "backoff 1s..1m") + job("hooked", "on exit /bin/a") + job("off"));
    const after = config(
      job("keep") + job("web", "nice 2", "env A=1") + job("db", "backoff 2s..1m", "stop timeout 30s") + job("hooked", "on exit /bin/b", "on fail /bin/c")
      + job("off", "disable") + job("new"),
    );
    expect(formatPlan(planReload(before.jobs, after))).toEqual([
      "restart web: env, nice changed",
      "apply in place db: backoff, stop timeout changed",
      "apply in place hooked: on exit, on fail changed",
      "stop off",
      "start new",
      "stop gone",
      "1 unchanged",
    ]);
  });

  test("cmd is named as written, not as the field", () => {
    expect(formatPlan(planReload(config(job("a")).jobs, config(job("a").replace("600", "700"))))).toEqual(["restart a: cmd changed", "0 unchanged"]);
  });

  test("instances 3 -> 5 -> 2: only the added or removed instances", () => {
    const three = config(job("w", "instances 3"));
    const five = config(job("w", "instances 5"));
    const two = config(job("w", "instances 2"));
    expect(formatPlan(planReload(three.jobs, five))).toEqual(["start w.4", "start w.5", "3 unchanged"]);
    expect(formatPlan(planReload(five.jobs, two))).toEqual(["stop w.3", "stop w.4", "stop w.5", "2 unchanged"]);
  });

  test("the definitions survive the JSON of the control socket unchanged", () => {
    const c = config(job("a", "ready tcp 127.0.0.1:1", "check http http://x/ every 1s", "env file /e", "give up after 3 in 1m"));
    const wire = JSON.parse(JSON.stringify(c.jobs));
    expect(formatPlan(planReload(wire, c))).toEqual(["1 unchanged"]);
  });
});
