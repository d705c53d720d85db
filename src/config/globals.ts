// Values of the global settings of SPEC §14 and §15:
//
//   metrics on http://HOST:PORT       HOST an IP address or name, [IPv6] bracketed
//   include /etc/pmtr.d/*.conf        absolute; a glob (* ? [...]) in the last component only

import type { Config } from "./model.ts";
import { show } from "./show.ts";
import { bareHost, hostProblem, portNumber } from "./udp.ts";
import { fail, text, type ValueSchema } from "./values.ts";

export const metricsAddress: ValueSchema<NonNullable<Config["metricsOn"]>> = text((s, ctx) => {
  const m = /^http:\/\/(.+):([^:/]*)\/?$/.exec(s);
  if (!m) return fail(ctx, `metrics on ${show(s)} is not an http://HOST:PORT address (e.g. http://127.0.0.1:9464)`);
  const [, rawHost = "", portText = ""] = m;
  const fault = hostProblem("metrics on", rawHost);
  if (fault) return fail(ctx, fault);
  const port = portNumber(portText);
  if (port === null) return fail(ctx, `metrics on port ${show(portText)} is out of range 1..65535`);
  return { host: bareHost(rawHost), port };
});

const GLOB_CHARS = /[*?[]/;

export const includePattern: ValueSchema<string> = text((s, ctx) => {
  if (!s.startsWith("/")) return fail(ctx, `include ${show(s)} is not an absolute path (e.g. include /etc/pmtr.d/*.conf)`);
  const dir = s.slice(0, s.lastIndexOf("/"));
  if (GLOB_CHARS.test(dir)) return fail(ctx, `include ${show(s)}: a wildcard is only allowed in the last path component (e.g. /etc/pmtr.d/*.conf)`);
  if (s.endsWith("/")) return fail(ctx, `include ${show(s)} names a directory: add the files' pattern (e.g. ${s}*.conf)`);
  return s;
});
