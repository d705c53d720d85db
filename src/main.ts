// pmtr: argv -> options -> run. The only place that exits, and the one exit-code table.

// The hidden exec-helper mode comes first, before anything heavy is loaded: every job start
// re-executes this binary in that mode to set up the job between fork and exec.
if (process.argv[2] === "--exec-helper") {
  const { runExecHelper } = await import("./os/exec-helper.ts");
  process.exit(await runExecHelper(process.argv.slice(3)));
}

/** Exit statuses, listed in --help and the README. */
export const EXIT = {
  ok: 0,
  config: 1, // the configuration file is invalid, unreadable or unsafe
  usage: 2, // bad command line
  runtime: 3, // could not start: pidfile held or unwritable, lock, socket
} as const;
export type Outcome = keyof typeof EXIT;

const { run } = await import("./run.ts");
process.exit(EXIT[await run(process.argv.slice(2))]);
