// The runtime options the daemon executes itself with (src/os/self/runtime-threads.ts): the thread
// options of issue 12 and, for memory (issue 11), the optimizing JIT tiers off. They are in
// effect in the daemon (its exec-time environment holds them), never in its jobs, and an
// operator's PMTR_RUNTIME_THREADS=default leaves the runtime as it is.

import { afterEach, expect, test } from "bun:test";
import { jobRunning, readOr, rmSync, tempDir, withPmtr, writeConfig } from "../helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A process's environment at its last exec, as /proc shows it. */
function execEnv(pid: number): Record<string, string> {
  return Object.fromEntries(readOr(`/proc/${pid}/environ`).split("\0").filter(Boolean).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}
const jscOf = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("BUN_JSC_")));

async function daemonAndJobEnv(env: Record<string, string>): Promise<{ daemon: Record<string, string>; job: Record<string, string> }> {
  const dir = tempDir("pmtr-runtime-options-");
  dirs.push(dir);
  const marker = `${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const conf = writeConfig(dir, `job {\n  name sleeper\n  cmd /bin/sleep ${marker}\n}\n`);
  return withPmtr(["-F", "-c", conf, "-s", `${dir}/pmtr.sock`], { env }, async (p) => {
    const jobPid = await jobRunning(p, "sleeper", marker, [], 15_000);
    return { daemon: execEnv(p.pid), job: execEnv(jobPid) };
  });
}

test("the daemon runs with the thread options and the DFG/FTL tiers off; its jobs inherit none of them", async () => {
  const { daemon, job } = await daemonAndJobEnv({});
  expect(jscOf(daemon)).toEqual({
    BUN_JSC_useConcurrentJIT: "0",
    BUN_JSC_numberOfGCMarkers: "1",
    BUN_JSC_useConcurrentGC: "0",
    BUN_JSC_useDFGJIT: "0",
  });
  expect(jscOf(job)).toEqual({});
});

test("PMTR_RUNTIME_THREADS=default: the runtime's own defaults, no second exec", async () => {
  const { daemon, job } = await daemonAndJobEnv({ PMTR_RUNTIME_THREADS: "default" });
  expect(jscOf(daemon)).toEqual({});
  expect(jscOf(job)).toEqual({});
});
