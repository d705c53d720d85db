// `report to udp://HOST:PORT[@IFACE]` and `listen on udp://HOST:PORT`. HOST is an IPv4
// address, a host name or a [bracketed] IPv6 address; IFACE names the interface that
// multicast reports leave by.

import type { UdpAddress } from "./model.ts";
import { show } from "./show.ts";
import { fail, text, type ValueSchema } from "./values.ts";

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV6 = /^\[([0-9A-Fa-f:.]+)\]$/;
/** Linux interface names are at most 15 characters (IFNAMSIZ - 1). */
const IFACE = /^[A-Za-z0-9_.:-]{1,15}$/;

export function udpAddress(keyword: "report to" | "listen on"): ValueSchema<UdpAddress> {
  const form = keyword === "report to" ? "udp://HOST:PORT[@IFACE]" : "udp://HOST:PORT";
  return text((s, ctx) => {
    const m = /^udp:\/\/(.+):([^:@]*)(?:@(.*))?$/.exec(s);
    if (!m) return fail(ctx, `${keyword} ${show(s)} is not a ${form} address`);
    const [, rawHost = "", portText = "", iface] = m;
    const host = bareHost(rawHost);
    const hostFault = hostProblem(keyword, rawHost);
    if (hostFault) return fail(ctx, hostFault);
    const port = portNumber(portText);
    if (port === null) return fail(ctx, `${keyword} port ${show(portText)} is out of range 1..65535`);
    if (iface !== undefined && keyword === "listen on") return fail(ctx, `listen on takes no @IFACE (only report to does): ${show(s)}`);
    if (iface !== undefined && !IFACE.test(iface)) return fail(ctx, `${keyword} interface ${show(iface)} is not an interface name`);
    return { host, port, iface: iface ?? null };
  });
}

/** Why `rawHost` (an IPv4 address, a host name or a [bracketed] IPv6 address) is not a host; null when it is. */
export function hostProblem(what: string, rawHost: string): string | null {
  if (!IPV6.test(rawHost) && !HOST_NAME.test(rawHost)) return `${what} host ${show(rawHost)} is not an IP address or host name`;
  if (/^[\d.]+$/.test(rawHost) && !isIpv4(rawHost)) return `${what} host ${show(rawHost)} is not a valid IPv4 address`;
  return null;
}

/** The host as used to connect: brackets of an IPv6 address removed. */
export function bareHost(rawHost: string): string {
  return IPV6.exec(rawHost)?.[1] ?? rawHost;
}

/** 1..65535, or null. */
export function portNumber(text: string): number | null {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  return port >= 1 && port <= 65535 ? port : null;
}

function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
