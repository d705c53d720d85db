// The README an operator lands on: the developer commands first, then a quick start of under
// 30 lines (copy the binary, write /etc/pmtr.conf, pmtr -t, enable the unit or the init
// script, pmtr status) before the reference, and "never strip" in Install. The configuration
// the quick start writes is checked with the real `pmtr -t`.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { rmSync, runPmtr, tempDir, writeConfig } from "../helpers.ts";
import { ROOT } from "./dist-lib.ts";

const README = readFileSync(resolve(ROOT, "README.md"), "utf8");
const quickStart = README.slice(README.indexOf("\n## Quick start"), README.indexOf("<!-- end: quick start -->"));

describe("README", () => {
  test("make run and make test come first", () => {
    const firstBlock = README.slice(README.indexOf("```sh\n"), README.indexOf("\n```\n"));
    expect(firstBlock).toMatch(/^make run\b/m);
    expect(firstBlock).toMatch(/^make test\b/m);
    expect(README.indexOf("```sh\nmake run")).toBeLessThan(README.indexOf("\n## "));
  });

  test("an operator's quick start of under 30 lines comes before the reference", () => {
    expect(quickStart.length).toBeGreaterThan(0);
    expect(quickStart.trim().split("\n").length).toBeLessThan(30);
    expect(README.indexOf("\n## Quick start")).toBeLessThan(README.indexOf("\n## Command line"));
    for (const step of ["install -m 0755 pmtr-", "cat > /etc/pmtr.conf", "pmtr -t", "systemctl enable --now pmtr", "update-rc.d pmtr", "pmtr status"]) {
      expect(quickStart).toContain(step);
    }
  });

  test("the configuration the quick start writes is valid", async () => {
    const conf = quickStart.match(/cat > \/etc\/pmtr\.conf <<'EOF'.*\n([\s\S]*?)\nEOF\n/);
    expect(conf).not.toBeNull();
    const dir = tempDir("pmtr-readme-");
    try {
      const r = await runPmtr(["-t", "-v", "-c", writeConfig(dir, `${conf![1]}\n`)]);
      // Valid; -t may still warn about this machine (no /srv/www here), never error.
      expect(r.stderr.split("\n").filter((l) => l !== "" && !l.includes(": warning: "))).toEqual([]);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Install says never to strip the binary", () => {
    const install = README.slice(README.indexOf("\n## Install"));
    expect(install).toContain("**Never strip pmtr.**");
    expect(install).toContain("make dist");
    expect(install).toContain("make deb");
  });
});
