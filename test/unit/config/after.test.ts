// SPEC §12 `after` across jobs: default condition, unknown names, itself, never-done jobs and
// cycles (the message names every line of the cycle).

import { describe, expect, test } from "bun:test";
import { formatErrors } from "../../../src/config/index.ts";
import { errorsOf, valid } from "./helpers.ts";

/** A job block on consecutive lines: `job {` at its first line. */
function job(name: string, ...extra: string[]): string {
  return ["job {", `  name ${name}`, "  cmd /bin/true", ...extra.map((l) => `  ${l}`), "}"].join("\n");
}

function file(...jobs: string[]): string {
  return `${jobs.join("\n")}\n`;
}

describe("conditions", () => {
  test("default: ready when the job named has a ready line, else started", () => {
    const { jobs } = valid(file(job("db", "ready tcp 127.0.0.1:5432"), job("cache"), job("web", "after db", "after cache")));
    expect(jobs.find((j) => j.name === "web")?.after).toEqual([
      { name: "db", condition: "ready" },
      { name: "cache", condition: "started" },
    ]);
  });

  test("written conditions are kept, in file order", () => {
    const { jobs } = valid(file(job("db", "ready notify"), job("migrate", "once"), job("web", "after migrate done", "after db started", "after db ready")));
    expect(jobs.find((j) => j.name === "web")?.after).toEqual([
      { name: "migrate", condition: "done" },
      { name: "db", condition: "started" },
      { name: "db", condition: "ready" },
    ]);
  });

  test.each(["once", "restart on-failure", "restart never"])("done is allowed on a job with %s", (line) => {
    expect(valid(file(job("m", line), job("w", "after m done"))).jobs).toHaveLength(2);
  });

  test("a job may come after one defined later in the file", () => {
    expect(valid(file(job("web", "after db"), job("db"))).jobs.map((j) => j.after.length)).toEqual([1, 0]);
  });

  test("after a job with instances waits for every instance; after NAME.2 for one", () => {
    const { jobs } = valid(file(job("w", "instances 3"), job("a", "after w"), job("b", "after w.2 started")));
    expect(jobs.find((j) => j.name === "a")?.after).toEqual([
      { name: "w.1", condition: "started" },
      { name: "w.2", condition: "started" },
      { name: "w.3", condition: "started" },
    ]);
    expect(jobs.find((j) => j.name === "b")?.after).toEqual([{ name: "w.2", condition: "started" }]);
  });

  test("every instance of a job carries its after lines", () => {
    const { jobs } = valid(file(job("db"), job("w", "instances 2", "after db")));
    expect(jobs.filter((j) => j.instance).map((j) => j.after)).toEqual([[{ name: "db", condition: "started" }], [{ name: "db", condition: "started" }]]);
  });
});

describe("errors", () => {
  test("unknown name", () => {
    expect(errorsOf(file(job("a", "after nobody")))).toEqual([{ line: 4, message: 'after "nobody": there is no job named "nobody"' }]);
  });

  test("a name whose job has its own error is not also unknown", () => {
    expect(errorsOf(file("job {\n name b\n}", job("a", "after b"))).map((e) => e.line)).toEqual([1]);
  });

  test("the job itself", () => {
    expect(errorsOf(file(job("a", "after a")))).toEqual([{ line: 4, message: 'after "a": a job cannot start after itself' }]);
  });

  test("an instance of the job itself", () => {
    expect(errorsOf(file(job("w", "instances 2", "after w.1")))).toEqual([{ line: 5, message: 'after "w.1": a job cannot start after itself' }]);
  });

  test("done on a job that is always restarted", () => {
    expect(errorsOf(file(job("m"), job("w", "after m done")))).toEqual([
      { line: 8, message: "after m done: m is restarted whenever it exits, so it is never done (add once or restart on-failure to m, or write after m started)" },
    ]);
  });

  test("an unknown condition", () => {
    expect(errorsOf(file(job("m"), job("w", "after m soon")))).toEqual([{ line: 8, message: 'after m "soon": the condition is one of ready, started, done' }]);
  });

  test("no name, or too many words", () => {
    expect(errorsOf(file(job("w", "after", "after a b c"))).map((e) => e.message)).toEqual([
      "after takes a job name and an optional condition, got nothing (expected: after NAME [ready|started|done])",
      'after takes a job name and an optional condition, got "a" "b" "c" (expected: after NAME [ready|started|done])',
    ]);
  });

  test("a cycle of two names both lines", () => {
    expect(formatErrors("pmtr.conf", errorsOf(file(job("a", "after b"), job("b", "after a"))))).toEqual([
      "pmtr.conf:4: after b: the jobs wait for each other in a cycle: a after b (line 4), b after a (line 9)",
    ]);
  });

  test("a cycle is reported beside a duplicate name: every error at once (SPEC §6)", () => {
    expect(formatErrors("pmtr.conf", errorsOf(file(job("a", "after b"), job("b", "after a"), job("a"))))).toEqual([
      "pmtr.conf:4: after b: the jobs wait for each other in a cycle: a after b (line 4), b after a (line 9)",
      'pmtr.conf:12: duplicate job name "a" (first used on line 2)',
    ]);
  });

  test("a cycle of three, reported once, with every line", () => {
    const text = file(job("a", "after b"), job("b", "after c"), job("c", "after a"), job("d", "after a"));
    expect(formatErrors("pmtr.conf", errorsOf(text))).toEqual([
      "pmtr.conf:4: after b: the jobs wait for each other in a cycle: a after b (line 4), b after c (line 9), c after a (line 14)",
    ]);
  });

  test("a long chain is not a cycle, and is checked without recursion", () => {
    const jobs = Array.from({ length: 20_000 }, (_, i) => job(`j${i}`, ...(i > 0 ? [`after j${i - 1}`] : [])));
    expect(valid(file(...jobs)).jobs).toHaveLength(20_000);
  });

  test("a long cycle is one short message", () => {
    const n = 5000;
    const jobs = Array.from({ length: n }, (_, i) => job(`j${i}`, `after j${(i + 1) % n}`));
    const errors = errorsOf(file(...jobs));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toEndWith(`, ... (${n} jobs in all)`);
    expect(errors[0]?.message.length).toBeLessThan(600);
  });
});
