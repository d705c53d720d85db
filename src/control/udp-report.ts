// `report to udp://HOST:PORT[@IFACE]`: one datagram to every destination every 10 s and after
// each job state change. A burst of changes (a reload touching many jobs) yields one datagram
// per event-loop turn, not one per job.

import type dgram from "node:dgram";
import { hostname as osHostname, networkInterfaces } from "node:os";
import type { UdpAddress } from "../config/model.ts";
import { osError } from "../os/libc.ts";
import { formatReport } from "./report-format.ts";
import type { ControlLog, JobStatus } from "./target.ts";
import { isIpv6, multicastInterface, showUdp, type InterfaceTable } from "./udp-address.ts";

export const REPORT_INTERVAL_MS = 10_000;

interface Destination {
  readonly address: UdpAddress;
  readonly socket: dgram.Socket;
  /** False until the multicast interface is set: a report sent earlier could leave by the wrong one. */
  ready: boolean;
  /** The last send error logged, so a dead collector costs one log line, not one every 10 s. */
  lastError: string | null;
}

export interface ReporterOptions {
  readonly hostname?: string;
  readonly intervalMs?: number;
  readonly interfaces?: () => InterfaceTable;
}

export class UdpReporter {
  private readonly destinations = new Map<string, Destination>();
  private readonly hostname: string;
  private readonly intervalMs: number;
  private readonly interfaces: () => InterfaceTable;
  private timer: ReturnType<typeof setInterval> | null = null;
  private pending: ReturnType<typeof setImmediate> | null = null;

  constructor(private readonly snapshot: () => readonly JobStatus[], private readonly log: ControlLog, options: ReporterOptions = {}) {
    this.hostname = options.hostname ?? osHostname();
    this.intervalMs = options.intervalMs ?? REPORT_INTERVAL_MS;
    this.interfaces = options.interfaces ?? networkInterfaces;
  }

  /** Report to exactly these destinations from now on; unchanged ones keep their sockets. */
  configure(addresses: readonly UdpAddress[]): void {
    const wanted = new Map(addresses.map((a) => [showUdp(a), a] as const));
    for (const [key, dest] of this.destinations) {
      if (!wanted.has(key)) {
        dest.socket.close();
        this.destinations.delete(key);
      }
    }
    for (const [key, address] of wanted) {
      if (!this.destinations.has(key)) this.open(key, address);
    }
    // A new collector hears from us at once rather than up to 10 s later.
    if (this.destinations.size > 0) this.changed();
    if (this.destinations.size > 0 && this.timer === null) {
      this.timer = setInterval(() => this.send(), this.intervalMs);
      // The report timer alone must not keep pmtr alive at shutdown.
      this.timer.unref?.();
    } else if (this.destinations.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** A job changed state: report once, after everything else this turn has changed. */
  changed(): void {
    if (this.destinations.size === 0 || this.pending !== null) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.send();
    });
  }

  /** Send one report now. */
  send(): void {
    if (this.destinations.size === 0) return;
    const payload = Buffer.from(formatReport(this.hostname, this.snapshot()));
    for (const dest of this.destinations.values()) {
      if (!dest.ready) continue;
      dest.socket.send(payload, dest.address.port, dest.address.host, (error) => {
        if (!error) {
          dest.lastError = null;
        } else if (error.message !== dest.lastError) {
          dest.lastError = error.message;
          this.log("warning", `cannot report to ${showUdp(dest.address)}: ${osError(error)}`);
        }
      });
    }
  }

  close(): void {
    this.configure([]);
    if (this.pending !== null) clearImmediate(this.pending);
    this.pending = null;
  }

  private open(key: string, address: UdpAddress): void {
    const socket = udp().createSocket(isIpv6(address.host) ? "udp6" : "udp4");
    const dest: Destination = { address, socket, ready: address.iface === null, lastError: null };
    socket.on("error", (error) => this.log("warning", `report to ${key}: ${osError(error)}`));
    socket.unref();
    this.destinations.set(key, dest);
    if (address.iface === null) return;

    const iface = multicastInterface(address.iface, isIpv6(address.host), this.interfaces());
    if (iface === null) {
      // Sending by the default route instead could leak reports onto a network the operator
      // did not choose, so this destination stays silent until the next reload.
      this.log("err", `report to ${key}: no interface ${address.iface} with an ${isIpv6(address.host) ? "IPv6" : "IPv4"} address; not reporting there (check the interface name, then reload)`);
      return;
    }
    socket.bind(0, () => {
      try {
        socket.setMulticastInterface(iface);
        dest.ready = true;
        this.changed();
      } catch (error) {
        this.log("err", `report to ${key}: cannot send by ${address.iface}: ${osError(error)}`);
      }
    });
  }
}

/** node:dgram, loaded at the first UDP socket: without `report to`/`listen on` it is never
 *  loaded, and its JavaScript costs ~1 MB of pmtr's memory (docs/PERFORMANCE.md, Memory). */
function udp(): typeof dgram {
  return require("node:dgram") as typeof dgram;
}
