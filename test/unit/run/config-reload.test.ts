// The reload step (src/run/config-reload.ts) on real files: all or nothing, a touch is not a
// change, SIGHUP forces a rescan, a deleted file keeps the previous configuration (said once).

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../../src/config/model.ts";
import { createReloader } from "../../../src/run/config-reload.ts";

const dir = mkdtempSync(join(tmpdir(), "pmtr-reload-step-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const JOB = (name: string) => `job {\n  name ${name}\n  cmd /bin/sleep 1000\n}\n`;

function setup(file: string) {
  const applied: Config[] = [];
  const lines: string[] = [];
  let rejected = 0;
  const rescan = createReloader({
    configPath: file,
    isRoot: false,
    initialDigest: null,
    log: (_level, message) => lines.push(message),
    onIncludes: () => {},
    apply: (config) => applied.push(config),
    rejected: () => rejected++,
  });
  return { rescan, applied, lines, rejected: () => rejected };
}

describe("the reload step", () => {
  test("a changed file is applied; the same content again is not, unless forced", () => {
    const file = join(dir, "a.conf");
    writeFileSync(file, JOB("a"));
    const r = setup(file);
    expect(r.rescan(false)).toEqual({ applied: true });
    expect(r.applied.map((c) => c.jobs.map((j) => j.name))).toEqual([["a"]]);
    expect(r.rescan(false)).toEqual({ applied: true });
    expect(r.applied.length).toBe(1);
    r.rescan(true);
    expect(r.applied.length).toBe(2);
  });

  test("a file with errors changes nothing and says why", () => {
    const file = join(dir, "b.conf");
    writeFileSync(file, "job {\n  bogus 1\n}\n");
    const r = setup(file);
    const out = r.rescan(false);
    expect(out.applied).toBe(false);
    expect(r.applied).toEqual([]);
    expect(r.rejected()).toBe(1);
    expect(r.lines).toContain("keeping the previous configuration");
  });

  test("a deleted file keeps the previous configuration, said once", () => {
    const file = join(dir, "c.conf");
    writeFileSync(file, JOB("c"));
    const r = setup(file);
    r.rescan(false);
    unlinkSync(file);
    r.rescan(false);
    r.rescan(false);
    expect(r.applied.length).toBe(1);
    expect(r.lines.filter((l) => l.includes("is missing")).length).toBe(1);
  });
});
