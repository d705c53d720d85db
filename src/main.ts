// pmtr: argv -> options -> run. The only place that exits.

// The hidden exec-helper mode comes first, before anything heavy is loaded: every job start
// that needs nice/cpu/ulimit/user re-executes this binary in that mode to set the job up
// between fork and exec.
if (process.argv[2] === "--exec-helper") {
  const { runExecHelper } = await import("./os/exec-helper.ts");
  process.exit(await runExecHelper(process.argv.slice(3)));
}

const { run } = await import("./run.ts");
process.exit(await run(process.argv.slice(2)));
