// SPEC §14 `metrics on` as one object for supervise.ts to hold, like UdpControl: configure it
// after each applied configuration, count reloads, close it at exit. The HTTP server itself
// (metrics-server.ts) is imported the first time an address is configured, so a pmtr without
// `metrics on` never loads it.

import pkg from "../../package.json" with { type: "json" };
import { metricsMsg } from "../core/messages.ts";
import type { MetricsServer, HttpAddress } from "./metrics-server.ts";
import { JOB_STATES, type ControlLog, type ControlTarget } from "./target.ts";

export class MetricsControl {
  private server: MetricsServer | null = null;
  private loading: Promise<void> | null = null;
  private wanted: HttpAddress | null = null;
  private closed = false;
  private readonly counts = { success: 0, failure: 0, lastSuccess: true };

  constructor(private readonly target: Pick<ControlTarget, "snapshot">, private readonly log: ControlLog) {}

  /** Apply `metrics on` from a configuration that has just been applied (null: off). */
  configure(address: HttpAddress | null): void {
    if (this.closed) return;
    this.wanted = address;
    if (this.server !== null) return this.server.configure(address);
    if (address === null || this.loading !== null) return;
    this.loading = import("./metrics-server.ts").then(
      ({ MetricsServer }) => {
        if (this.closed) return;
        this.server = new MetricsServer({
          jobs: () => this.target.snapshot(),
          states: JOB_STATES,
          reloads: () => this.counts,
          version: pkg.version,
        }, this.log);
        this.server.configure(this.wanted);
      },
      (e) => this.log("err", metricsMsg.cannotLoad(e instanceof Error ? e.message : String(e))),
    );
  }

  /** A configuration after start-up was applied (true) or rejected with errors (false). */
  reloaded(applied: boolean): void {
    if (applied) this.counts.success++;
    else this.counts.failure++;
    this.counts.lastSuccess = applied;
  }

  /** Resolves once the server (if one is being loaded) is serving: for tests. */
  async settled(): Promise<void> {
    await this.loading;
  }

  port(): number | null {
    return this.server?.port() ?? null;
  }

  close(): void {
    this.closed = true;
    this.server?.close();
    this.server = null;
  }
}
