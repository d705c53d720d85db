// `listen on udp://HOST:PORT`: datagrams `enable NAME...` / `disable NAME...` switch jobs on
// or off at run time. UDP is unauthenticated, so anything but a loopback address earns a
// warning each time the configuration is applied, and datagrams that change nothing (malformed,
// or naming no job) are logged at a bounded rate (ignored-log.ts).

import type dgram from "node:dgram";
import type { UdpAddress } from "../config/model.ts";
import { osError } from "../os/libc.ts";
import { IgnoredLog } from "./ignored-log.ts";
import { parseControlDatagram } from "./listen-parse.ts";
import type { ControlLog, ControlTarget } from "./target.ts";
import { isIpv6, isLoopbackHost, showUdp } from "./udp-address.ts";

export class UdpListener {
  private current: { readonly key: string; readonly socket: dgram.Socket } | null = null;
  private readonly ignored: IgnoredLog;
  /** The jobs' names, read once per applied configuration (configure follows each). */
  private names: ReadonlySet<string> | null = null;

  constructor(private readonly target: Pick<ControlTarget, "setEnabled" | "snapshot">, private readonly log: ControlLog) {
    this.ignored = new IgnoredLog({ log });
  }

  /** Listen on `address` from now on (null: not at all). An unchanged address keeps its socket;
   *  a bind failure is logged and retried at the next configure. */
  configure(address: UdpAddress | null): void {
    this.names = null;
    const key = address === null ? null : showUdp(address);
    if (address !== null && !isLoopbackHost(address.host)) {
      this.log("warning", `listen on ${key}: UDP control is unauthenticated and this address is reachable from other machines; prefer udp://127.0.0.1:PORT`);
    }
    if (this.current?.key === key) return;
    this.close();
    if (address === null || key === null) return;

    const socket = udp().createSocket({ type: isIpv6(address.host) ? "udp6" : "udp4", reuseAddr: false });
    const entry = { key, socket };
    this.current = entry;
    socket.on("error", (error) => {
      // strerror's words ("Address already in use"), not the runtime's "bind EADDRINUSE 127.0.0.1".
      this.log("err", `cannot listen on ${key}: ${osError(error)} (UDP control is off until the configuration changes)`);
      socket.close();
      if (this.current === entry) this.current = null;
    });
    socket.on("message", (bytes, from) => this.receive(bytes, `${from.address}:${from.port}`));
    socket.bind(address.port, address.host, () => socket.unref());
  }

  close(): void {
    this.current?.socket.close();
    this.current = null;
    this.ignored.flush();
  }

  private receive(bytes: Uint8Array, from: string): void {
    const parsed = parseControlDatagram(bytes);
    if (!parsed.ok) {
      this.ignored.datagram([["warning", `${parsed.message} (from ${from})`]]);
      return;
    }
    this.names ??= new Set(this.target.snapshot().map((job) => job.name));
    const known = this.names;
    const said: Array<["info", string]> = [];
    const unknown: Array<["info", string]> = [];
    for (const { enabled, names } of parsed.requests) {
      said.push(["info", `udp control from ${from}: ${enabled ? "enable" : "disable"} ${names.join(" ")}`]);
      // Upstream wording, so existing log searches keep working.
      for (const name of names) if (!known.has(name)) unknown.push(["info", `control msg for unknown job ${name}`]);
    }
    if (!parsed.requests.some(({ names }) => names.some((name) => known.has(name)))) {
      this.ignored.datagram([...said, ...unknown]);
      return;
    }
    // It acts on a job: always said. Its unknown names count as ignored, so that one datagram
    // naming a real job and a thousand others cannot log a thousand lines every time.
    for (const [level, message] of said) this.log(level, message);
    if (unknown.length > 0) this.ignored.datagram(unknown);
    for (const { enabled, names } of parsed.requests) this.target.setEnabled(names, enabled);
  }
}

/** node:dgram, loaded at the first UDP socket: without `report to`/`listen on` it is never
 *  loaded, and its JavaScript costs ~1 MB of pmtr's memory (docs/PERFORMANCE.md, Memory). */
function udp(): typeof dgram {
  return require("node:dgram") as typeof dgram;
}
