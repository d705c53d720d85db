// The algorithm of pmtr, top to bottom: parse the command line, then check the configuration
// (-t), talk to a running pmtr (client commands), or supervise until a shutdown signal.
// Returns the process exit status.

import pkg from "../package.json" with { type: "json" };
import { parseArgs, USAGE, type Options } from "./cli.ts";
import { EXIT } from "./exit.ts";

export async function run(args: readonly string[]): Promise<number> {
  const command = parseArgs(args);
  switch (command.kind) {
    case "help":
      await write(Bun.stdout, USAGE);
      return EXIT.ok;
    case "version":
      await write(Bun.stdout, `pmtr ${pkg.version}\n`);
      return EXIT.ok;
    case "usage-error":
      // The error, then the synopsis: the one line that went wrong stays in view (SPEC §1: usage
      // on stderr, exit 2); every option is one `pmtr --help` away.
      await write(Bun.stderr, `pmtr: ${command.message}\n${USAGE.slice(0, USAGE.indexOf("\n\n"))}\n(pmtr --help for every option and command)\n`);
      return EXIT.usage;
    case "logs": {
      const { runLogs } = await import("./control/logs-client.ts");
      return runLogs(command, { out: (text) => write(Bun.stdout, text), err: (text) => write(Bun.stderr, text) });
    }
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

/** `pmtr -t`: 0 on a valid file (one line per job with -v; warnings about what would fail at
 *  run time on stderr, SPEC §15); every error and 1 if not. */
async function check(options: Options): Promise<number> {
  // Loaded here, not at the top: the configuration modules (zod's schemas are built when they
  // load) cost a client command like `pmtr status` several MB it does not need.
  const { readConfigFile } = await import("./os/config/config-file.ts");
  const { describeJob } = await import("./config/describe.ts");
  const loaded = readConfigFile(options.configPath, { enforceOwnership: process.getuid?.() === 0 });
  if (!loaded.ok) {
    await write(Bun.stderr, loaded.messages.map((m) => `${m}\n`).join(""));
    return EXIT.config;
  }
  if (options.verbose > 0) await write(Bun.stdout, loaded.config.jobs.map((j) => `${describeJob(j)}\n`).join(""));
  if (options.diff) {
    const { diffAgainstRunning } = await import("./control/diff-client.ts");
    const diff = await diffAgainstRunning(loaded.config, options.socketPath);
    if (!diff.ok) {
      await write(Bun.stderr, `pmtr: ${diff.message}\n`);
      return EXIT.runtime;
    }
    await write(Bun.stdout, diff.lines.map((l) => `${l}\n`).join(""));
  }
  const { runtimeWarnings } = await import("./os/config/check-warnings.ts");
  const warnings = runtimeWarnings(loaded.config);
  if (warnings.length > 0) await write(Bun.stderr, warnings.map((w) => `${w}\n`).join(""));
  return EXIT.ok;
}

/** Writes all of `text` before main exits: process.stdout.write leaves in memory what a pipe
 *  has not taken yet, and exiting (in main) drops it (`pmtr -t -v | less` showed the first 64 KiB of
 *  a long listing). A stream that takes nothing more (EPIPE from `| head`, ENOSPC) is not an
 *  error of the command. */
async function write(stream: typeof Bun.stdout, text: string): Promise<void> {
  await Bun.write(stream, text).catch(() => undefined);
}
