// The algorithm of pmtr, top to bottom: parse the command line, check or load the
// configuration, then supervise until a shutdown signal. Returns an outcome for main's table.

import pkg from "../package.json" with { type: "json" };
import { parseArgs, USAGE, type Options } from "./cli.ts";
import { describeJob } from "./config/describe.ts";
import { readConfigFile } from "./os/config-file.ts";
import type { Outcome } from "./main.ts";

export async function run(args: readonly string[]): Promise<Outcome> {
  const command = parseArgs(args);
  switch (command.kind) {
    case "help":
      process.stdout.write(USAGE);
      return "ok";
    case "version":
      process.stdout.write(`pmtr ${pkg.version}\n`);
      return "ok";
    case "usage-error":
      process.stderr.write(`pmtr: ${command.message}\n${USAGE}`);
      return "usage";
    case "run":
      return command.options.checkOnly ? check(command.options) : supervise(command.options);
  }
}

/** `pmtr -t`: silent and 0 on a valid file (one line per job with -v); every error and 1 if not. */
function check(options: Options): Outcome {
  const loaded = readConfigFile(options.configPath, { enforceOwnership: isRoot() });
  if (!loaded.ok) {
    process.stderr.write(loaded.messages.map((m) => `${m}\n`).join(""));
    return "config";
  }
  if (options.verbose > 0) process.stdout.write(loaded.config.jobs.map((j) => `${describeJob(j)}\n`).join(""));
  return "ok";
}

async function supervise(options: Options): Promise<Outcome> {
  process.stderr.write("pmtr: supervision is not built yet; only -t works\n");
  return "runtime";
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}
