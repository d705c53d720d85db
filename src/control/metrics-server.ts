// `metrics on http://HOST:PORT` (SPEC §14): GET /metrics, /healthz and /readyz over Bun.serve.
// Loaded only when the configuration asks for it (metrics.ts imports this file dynamically):
// an HTTP server costs ~5 MB of RSS that a pmtr without metrics should not pay.
//
// A request never waits on a job: the job table is the supervisor's snapshot (synchronous and
// cheap), and group memory/CPU come from a /proc scan that is shared and cached (proc-groups.ts)
// and read asynchronously, so a scrape never blocks the supervision loop either.

import { constants } from "node:os";
import type { Server } from "bun";
import { metricsMsg } from "../core/messages.ts";
import type { ExitStatus } from "../core/ports.ts";
import { GroupUsageCache } from "../os/proc/proc-groups.ts";
import { formatMetrics, METRICS_CONTENT_TYPE, type MetricsJob } from "./metrics-format.ts";
import { readiness } from "./readyz-format.ts";
import type { ControlLog, JobStatus } from "./target.ts";
import { isLoopbackHost } from "./udp-address.ts";

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
}

export interface MetricsSource {
  /** Every job, in file order (ControlTarget.snapshot). */
  jobs(): readonly JobStatus[];
  /** Every state a job can be in, for pmtr_job_state. */
  readonly states: readonly string[];
  reloads(): { readonly success: number; readonly failure: number; readonly lastSuccess: boolean };
  readonly version: string;
}

/** What is served; anything else is 404. */
export const METRICS_PATHS = { metrics: "/metrics", healthz: "/healthz", readyz: "/readyz" } as const;
/** The port the SPEC, the README and every example use (9464, as OpenTelemetry's Prometheus
 *  exporter). `metrics on` always names its port: this is a convention, not a fallback. */
export const EXAMPLE_METRICS_PORT = 9464;

/** Request bodies are never needed: anything larger is refused before it is read. */
const MAX_BODY_BYTES = 1024;
/** A connection that sends nothing for this long is closed (a slow or stalled client). */
const IDLE_TIMEOUT_SEC = 10;

export function showHttp(address: HttpAddress): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}

export class MetricsServer {
  private current: { readonly key: string; readonly server: Server<undefined> } | null = null;
  private readonly usage = new GroupUsageCache({ refreshAhead: true });

  constructor(private readonly source: MetricsSource, private readonly log: ControlLog) {}

  /** Serve on `address` from now on (null: not at all). An unchanged address keeps its server;
   *  a bind failure is logged, pmtr goes on, and the next configure tries again. */
  configure(address: HttpAddress | null): void {
    const key = address === null ? null : showHttp(address);
    if (address !== null && !isLoopbackHost(address.host)) {
      this.log("warning", metricsMsg.notLoopback(showHttp(address)));
    }
    if (this.current?.key === key) return;
    this.close();
    if (address === null || key === null) return;
    try {
      const server = Bun.serve({
        hostname: address.host,
        port: address.port,
        idleTimeout: IDLE_TIMEOUT_SEC,
        maxRequestBodySize: MAX_BODY_BYTES,
        fetch: (request) => this.handle(request),
        error: (error) => new Response(`internal error: ${error.message}\n`, { status: 500 }),
      });
      this.current = { key, server };
      this.log("info", metricsMsg.serving(key));
    } catch (e) {
      this.log("err", metricsMsg.cannotServe(key, e instanceof Error ? e.message : String(e)));
    }
  }

  /** The port actually bound (port 0 in the file picks a free one), or null when not serving. */
  port(): number | null {
    return this.current?.server.port ?? null;
  }

  close(): void {
    // true: close open connections too, so a moved address is free at once.
    void this.current?.server.stop(true);
    this.current = null;
    this.usage.close();
  }

  private async handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path !== METRICS_PATHS.metrics && path !== METRICS_PATHS.healthz && path !== METRICS_PATHS.readyz) return text(404, `not found: ${path} (try /metrics, /healthz or /readyz)\n`);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, `method ${request.method} not allowed: use GET\n`, { Allow: "GET, HEAD" });
    }
    if (path === METRICS_PATHS.healthz) {
      // Answered only after a turn of the event loop: the loop that runs supervision is alive.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return text(200, "ok\n");
    }
    const jobs = this.source.jobs();
    if (path === METRICS_PATHS.readyz) {
      const answer = readiness(jobs.map((job) => ({ name: job.name, state: job.state, ready: isReady(job), reason: job.reason })));
      return text(answer.ready ? 200 : 503, answer.text);
    }
    return new Response(await this.metrics(jobs), { headers: { "Content-Type": METRICS_CONTENT_TYPE } });
  }

  private async metrics(jobs: readonly JobStatus[]): Promise<string> {
    const pids = jobs.flatMap((job) => (job.pid === null ? [] : [job.pid]));
    const usage = await this.usage.usage(pids);
    const reloads = this.source.reloads();
    return formatMetrics({
      jobs: jobs.map((job): MetricsJob => {
        // Each job leads its own process group: pgid == pid.
        const group = job.pid === null ? undefined : usage.get(job.pid);
        return {
          name: job.name,
          state: job.state,
          up: job.pid !== null,
          ready: isReady(job),
          restarts: job.restarts,
          lastExitCode: job.lastExit === null ? null : exitCode(job.lastExit),
          startedAtEpochMs: job.startedAt,
          rssBytes: group?.rssBytes ?? 0,
          cpuSeconds: group?.cpuSeconds ?? 0,
        };
      }),
      states: this.source.states,
      reloads,
      lastReloadSuccess: reloads.lastSuccess,
      version: this.source.version,
    });
  }
}

function isReady(job: JobStatus): boolean {
  return job.state === "running" && job.ready;
}

/** 128+N for a death by signal N, as shells report it. */
function exitCode(status: ExitStatus): number {
  if (status.kind === "exited") return status.code;
  const n = (constants.signals as Record<string, number | undefined>)[status.signal];
  return n === undefined ? 128 : 128 + n;
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
}
