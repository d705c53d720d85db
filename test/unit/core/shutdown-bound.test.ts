import { describe, expect, test } from "bun:test";
import { makeJob } from "../../../src/config/defaults.ts";
import { DEFAULT_POLICY } from "../../../src/config/defaults.ts";
import type { JobSpec } from "../../../src/config/model.ts";
import { shutdownBoundMs } from "../../../src/core/shutdown-bound.ts";

function job(name: string, stopS: number, after: string[] = []): JobSpec {
  return makeJob({
    name,
    argv: ["/bin/true"],
    policy: { ...DEFAULT_POLICY, stopTimeoutMs: stopS * 1000 },
    after: after.map((n) => ({ name: n, condition: "started" as const })),
  });
}

describe("shutdownBoundMs", () => {
  test("independent jobs stop concurrently: the longest timeout, plus a margin", () => {
    expect(shutdownBoundMs([job("a", 10), job("b", 30), job("c", 5)])).toBe(31_000);
  });
  test("a chain adds up: db (10 s) waits for migrate (5 s) which waits for web (30 s)", () => {
    expect(shutdownBoundMs([job("db", 10), job("migrate", 5, ["db"]), job("web", 30, ["migrate"])])).toBe(48_000);
  });
  test("the longest of two branches counts, not their sum", () => {
    expect(shutdownBoundMs([job("db", 10), job("a", 30, ["db"]), job("b", 5, ["db"])])).toBe(42_000);
  });
  test("no jobs: no time", () => {
    expect(shutdownBoundMs([])).toBe(0);
  });
});
