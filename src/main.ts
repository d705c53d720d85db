// pmtr: argv -> options -> run. The only place that exits.

export {}; // a module: top-level await is allowed in modules only

const { run } = await import("./run.ts");
process.exit(await run(process.argv.slice(2)));
