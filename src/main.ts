// pmtr: argv -> options -> run. The only place that exits.

const { run } = await import("./run.ts");
process.exit(await run(process.argv.slice(2)));
