// The algorithm of pmtr, top to bottom: parse the command line, then check the configuration
// (-t), talk to a running pmtr (client commands), or supervise until a shutdown signal.
// Returns the process exit status.

import pkg from "../package.json" with { type: "json" };
import { parseArgs, USAGE, type Options } from "./cli.ts";
import { describeJob } from "./config/describe.ts";
import { EXIT } from "./exit.ts";
import { readConfigFile } from "./os/config-file.ts";

export async function run(args: readonly string[]): Promise<number> {
  const command = parseArgs(args);
  switch (command.kind) {
    case "help":
      process.stdout.write(USAGE);
      return EXIT.ok;
    case "version":
      process.stdout.write(`pmtr ${pkg.version}\n`);
      return EXIT.ok;
    case "usage-error":
      process.stderr.write(`pmtr: ${command.message}\n${USAGE}`);
      return EXIT.usage;
    case "client": {
      const { runClient } = await import("./control/socket-client.ts");
      return runClient(command.request, { json: command.json, socketPath: command.socketPath });
    }
    case "run": {
      if (command.options.checkOnly) return check(command.options);
      const { supervise } = await import("./supervise.ts");
      return supervise(command.options, args);
    }
  }
}

/** `pmtr -t`: silent and 0 on a valid file (one line per job with -v); every error and 1 if not. */
function check(options: Options): number {
  const loaded = readConfigFile(options.configPath, { enforceOwnership: process.getuid?.() === 0 });
  if (!loaded.ok) {
    process.stderr.write(loaded.messages.map((m) => `${m}\n`).join(""));
    return EXIT.config;
  }
  if (options.verbose > 0) process.stdout.write(loaded.config.jobs.map((j) => `${describeJob(j)}\n`).join(""));
  return EXIT.ok;
}
