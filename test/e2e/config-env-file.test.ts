// `env file` end to end (SPEC §15): read at every start — an edit takes effect at the next
// start only — with the job's `env` lines winning; a missing or malformed file fails the start
// with FILE[:LINE] in the reason, and no value ever reaches the log.

import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join, readOr, rmSync, runPmtr, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(envText: string): { dir: string; envFile: string; seen: string; conf: string; sock: string } {
  const dir = tempDir("pmtr-env-file-");
  dirs.push(dir);
  const envFile = join(dir, "web.env");
  writeFileSync(envFile, envText);
  chmodSync(envFile, 0o600);
  const seen = join(dir, "seen");
  const conf = writeConfig(dir, [
    "job {",
    "  name web",
    `  cmd /bin/sh -c "echo $GREETING:$PLACE:$WHO >> ${seen}; exec sleep 600"`,
    `  env file ${envFile}`,
    "  env WHO=env-line",
    "}",
    "",
  ].join("\n"));
  return { dir, envFile, seen, conf, sock: join(dir, "pmtr.sock") };
}

describe("env file", () => {
  test("read at start; an edit applies at the next start only; env lines win", async () => {
    const s = setup("# greeting\nexport GREETING='hello there'\nPLACE=world\nWHO=file\n");
    await withPmtr(["-F", "-c", s.conf, "-s", s.sock], {}, async (p) => {
      await waitFor("first run's environment", () => readOr(s.seen) === "hello there:world:env-line\n", 10_000);
      writeFileSync(s.envFile, "GREETING=bye\nPLACE=moon\n");
      // Not a change of the configuration: nothing restarts.
      await Bun.sleep(300);
      expect(readOr(s.seen)).toBe("hello there:world:env-line\n");
      const restart = await runPmtr(["-s", s.sock, "restart", "web"], { timeoutMs: 20_000 });
      expect(restart.code).toBe(0);
      await waitFor("second run's environment", () => readOr(s.seen) === "hello there:world:env-line\nbye:moon:env-line\n", 10_000);
      expect(p.stderr).not.toContain("hello there");
    });
  });

  test("a malformed file fails the start naming FILE:LINE, and the value is never logged", async () => {
    const s = setup("PLACE=world\nTOKEN='s3cret-value\n");
    await withPmtr(["-F", "-c", s.conf, "-s", s.sock], {}, async (p) => {
      await p.waitLog(`job web failed to start: env: ${s.envFile}:2: TOKEN: unterminated ' quote`, 10_000);
      expect(readOr(s.seen)).toBe("");
      expect(p.stderr).not.toContain("s3cret");
    });
  });

  test("a missing file fails the start with a clear reason", async () => {
    const s = setup("");
    rmSync(s.envFile);
    await withPmtr(["-F", "-c", s.conf, "-s", s.sock], {}, async (p) => {
      await p.waitLog(`job web failed to start: env: ${s.envFile}: cannot read: no such file`, 10_000);
    });
  });
});
