// A MetricsServer on a loopback port over a hand-made job table, for the unit tests.

import { createServer } from "node:net";
import type { JobStatus } from "../../../src/control/target.ts";
import type { ExitStatus } from "../../../src/core/ports.ts";

/** A port that was free a moment ago (bound to 0 and released). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A job as core's snapshot shows it; `lastExit` may be given as a bare exit status. */
export type Job = JobStatus;

export function job(over: Omit<Partial<Job>, "lastExit"> & { name: string; lastExit?: ExitStatus | null }): Job {
  const { lastExit = null, ...rest } = over;
  const state = rest.state ?? "running";
  return {
    state, reason: "", enabled: true, pid: null, sinceStartMs: null, startedAt: null, restarts: 0,
    lastExit: lastExit === null ? null : { ...lastExit, atMs: 0, ranMs: 0 },
    lastStartError: null, nextRestartAt: null, exits: [], ready: state === "running", statusText: null,
    cmd: "/bin/true", argv: ["/bin/true"], user: null, dir: "/", out: "/dev/null", err: "/dev/null",
    source: { file: "pmtr.conf", line: 1 }, deadlineMs: 15_000,
    ...rest,
  };
}

/** promtool from Debian's `prometheus` package, or a failure naming the package. */
export function promtool(): string {
  const path = Bun.which("promtool");
  if (path === null) throw new Error("promtool not found: install the Debian package `prometheus` (.ci/run does)");
  return path;
}

export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn([promtool(), "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: out + err };
}
