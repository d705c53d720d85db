// Shared by the config unit tests: wrap statements in a minimal valid job, and unwrap results.

import { expect } from "bun:test";
import { parseConfig } from "../../../src/config/index.ts";
import type { Config, ConfigError, JobSpec } from "../../../src/config/model.ts";

/** `job {` is line 1, `name j` line 2, `cmd /bin/true` line 3: `extra` starts on line 4. */
export function inJob(...extra: string[]): string {
  return ["job {", "  name j", "  cmd /bin/true", ...extra.map((l) => `  ${l}`), "}", ""].join("\n");
}

export function valid(text: string): Config {
  const result = parseConfig(text);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.map((e) => `${e.line}: ${e.message}`).join("\n").slice(0, 2000)}`);
  return result.config;
}

export function onlyJob(text: string): JobSpec {
  const { jobs } = valid(text);
  expect(jobs).toHaveLength(1);
  return jobs[0] as JobSpec;
}

export function errorsOf(text: string): ConfigError[] {
  const result = parseConfig(text);
  if (result.ok) throw new Error(`expected errors, got a valid config: ${JSON.stringify(result.config).slice(0, 500)}`);
  return [...result.errors];
}
