// UDP status and control (SPEC §8) as one object for the lead to hold: configure it after
// each applied configuration, tell it when a job changed, close it at exit.

import type { UdpAddress } from "../config/model.ts";
import type { ControlLog, ControlTarget } from "./target.ts";
import { UdpListener } from "./udp-listen.ts";
import { UdpReporter, type ReporterOptions } from "./udp-report.ts";

export class UdpControl {
  private readonly reporter: UdpReporter;
  private readonly listener: UdpListener;

  constructor(target: Pick<ControlTarget, "snapshot" | "setEnabled">, log: ControlLog, options: ReporterOptions = {}) {
    this.reporter = new UdpReporter(() => target.snapshot(), log, options);
    this.listener = new UdpListener(target, log);
  }

  /** Apply `report to` and `listen on` from a configuration that has just been applied. */
  configure(reportTo: readonly UdpAddress[], listenOn: UdpAddress | null): void {
    this.reporter.configure(reportTo);
    this.listener.configure(listenOn);
  }

  /** Call from Ports.changed(): a report goes out at the end of this event-loop turn. */
  changed(): void {
    this.reporter.changed();
  }

  close(): void {
    this.reporter.close();
    this.listener.close();
  }
}
