// Pure helpers about `udp://` addresses from the configuration.

import type { UdpAddress } from "../config/model.ts";

/** As the configuration file writes it; also the key that tells an unchanged address. */
export function showUdp(address: UdpAddress): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `udp://${host}:${address.port}${address.iface === null ? "" : `@${address.iface}`}`;
}

export function isIpv6(host: string): boolean {
  return host.includes(":");
}

/** True for 127.0.0.0/8, ::1 and `localhost`: the addresses only this machine can send to. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
}

/** The subset of os.networkInterfaces() used here, so the choice stays testable. */
export type InterfaceTable = Record<string, readonly { readonly address: string; readonly family: string | number }[] | undefined>;

/** What setMulticastInterface wants for `iface`: its IPv4 address, or `::%iface` for IPv6;
 *  null when the machine has no such interface (or none of that family). */
export function multicastInterface(iface: string, ipv6: boolean, interfaces: InterfaceTable): string | null {
  const addresses = interfaces[iface];
  if (!addresses) return null;
  if (ipv6) return addresses.some((a) => a.family === "IPv6" || a.family === 6) ? `::%${iface}` : null;
  return addresses.find((a) => a.family === "IPv4" || a.family === 4)?.address ?? null;
}
