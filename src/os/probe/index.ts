// One attempt of any probe kind: the single entry the readiness watcher calls. `exec` probes
// start a process through pmtr's one spawn path, injected by the runner.

import type { Probe } from "../../config/model.ts";
import { probeFile } from "./file.ts";
import { probeHttp } from "./http.ts";
import { notMet, type ProbeResult } from "./result.ts";
import { probeTcp } from "./tcp.ts";

export interface ProbeContext {
  readonly timeoutMs: number;
  /** Wall-clock start of the run being probed (for `file`). */
  readonly runStartedAtEpochMs: number;
  /** Runs argv with the job's user, env and dir; met on exit status 0 within the timeout. */
  readonly exec: (argv: readonly string[], timeoutMs: number) => Promise<ProbeResult>;
}

export function runProbe(probe: Probe, ctx: ProbeContext): Promise<ProbeResult> {
  switch (probe.kind) {
    case "tcp":
      return probeTcp(probe.host, probe.port, ctx.timeoutMs);
    case "http":
      return probeHttp(probe.url, ctx.timeoutMs);
    case "file":
      return Promise.resolve(probeFile(probe.path, ctx.runStartedAtEpochMs));
    case "exec":
      return ctx.exec(probe.argv, ctx.timeoutMs);
    case "notify":
      // Readiness by notification is pushed by the job, not polled (see notify/).
      return Promise.resolve(notMet("no READY=1 received yet"));
  }
}

/** How status names a probe: "tcp 127.0.0.1:5432", "http http://…/healthz", "exec /bin/db-ok". */
export function describeProbe(probe: Probe): string {
  switch (probe.kind) {
    case "tcp":
      return `tcp ${probe.host.includes(":") ? `[${probe.host}]` : probe.host}:${probe.port}`;
    case "http":
      return `http ${probe.url}`;
    case "file":
      return `file ${probe.path}`;
    case "exec":
      return `exec ${probe.argv[0] ?? ""}`;
    case "notify":
      return "notify";
  }
}
