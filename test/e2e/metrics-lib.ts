// Shared by the metrics e2e tests: a pmtr with `metrics on` a free loopback port, and reading
// its /metrics as a table of samples.

import { FIXTURES, join } from "../helpers.ts";
export { freePort } from "../unit/control/metrics-fixture.ts";

export const SLEEPER = join(FIXTURES, "reload/sleeper.sh");

/** Samples of a Prometheus text body: `series{labels}` (as written) -> value. */
export function samples(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

export async function scrape(url: string): Promise<{ body: string; values: Map<string, number> }> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET ${url}/metrics: ${res.status}`);
  const body = await res.text();
  return { body, values: samples(body) };
}

/** The value of one series, or undefined when absent. */
export async function value(url: string, series: string): Promise<number | undefined> {
  return (await scrape(url)).values.get(series);
}

/** Status code of GET url, or "refused" when nothing answers. */
export function statusOf(url: string, init?: RequestInit): Promise<number | "refused"> {
  return fetch(url, init).then((r) => r.status, () => "refused" as const);
}
