// `listen on udp://HOST:PORT`: datagrams `enable NAME...` / `disable NAME...` switch jobs on
// or off at run time. UDP is unauthenticated, so anything but a loopback address earns a
// warning each time the configuration is applied.

import dgram from "node:dgram";
import type { UdpAddress } from "../config/model.ts";
import { parseControlDatagram } from "./listen-parse.ts";
import type { ControlLog, ControlTarget } from "./target.ts";
import { isIpv6, isLoopbackHost, showUdp } from "./udp-address.ts";

export class UdpListener {
  private current: { readonly key: string; readonly socket: dgram.Socket } | null = null;

  constructor(private readonly target: Pick<ControlTarget, "setEnabled">, private readonly log: ControlLog) {}

  /** Listen on `address` from now on (null: not at all). An unchanged address keeps its socket;
   *  a bind failure is logged and retried at the next configure. */
  configure(address: UdpAddress | null): void {
    const key = address === null ? null : showUdp(address);
    if (address !== null && !isLoopbackHost(address.host)) {
      this.log("warning", `listen on ${key}: UDP control is unauthenticated and this address is reachable from other machines; prefer udp://127.0.0.1:PORT`);
    }
    if (this.current?.key === key) return;
    this.close();
    if (address === null || key === null) return;

    const socket = dgram.createSocket({ type: isIpv6(address.host) ? "udp6" : "udp4", reuseAddr: false });
    const entry = { key, socket };
    this.current = entry;
    socket.on("error", (error) => {
      this.log("err", `cannot listen on ${key}: ${error.message} (UDP control is off until the configuration changes)`);
      socket.close();
      if (this.current === entry) this.current = null;
    });
    socket.on("message", (bytes, from) => this.receive(bytes, `${from.address}:${from.port}`));
    socket.bind(address.port, address.host, () => socket.unref());
  }

  close(): void {
    this.current?.socket.close();
    this.current = null;
  }

  private receive(bytes: Uint8Array, from: string): void {
    const parsed = parseControlDatagram(bytes);
    if (!parsed.ok) {
      this.log("warning", `${parsed.message} (from ${from})`);
      return;
    }
    for (const { enabled, names } of parsed.requests) {
      this.log("info", `udp control from ${from}: ${enabled ? "enable" : "disable"} ${names.join(" ")}`);
      const unknown = this.target.setEnabled(names, enabled);
      // Upstream wording, so existing log searches keep working.
      for (const name of unknown) this.log("info", `control msg for unknown job ${name}`);
    }
  }
}
