// `ready http URL` / `check http URL`: met on a 2xx answer. Redirects are not followed (a
// health endpoint that redirects is misconfigured, and following one could leave the host);
// the body is discarded unread so a large one costs nothing.

import { errorText, MET, notMet, type ProbeResult } from "./result.ts";

export async function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
      headers: { "user-agent": "pmtr-probe" },
      // A probe must see the job's own answer, never a cached one.
      cache: "no-store",
    });
    void res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return MET;
    return notMet(`http ${res.status}`);
  } catch (e) {
    const name = (e as { name?: string } | null)?.name;
    if (name === "TimeoutError" || name === "AbortError") return notMet(`http ${url}: no answer in ${timeoutMs} ms`);
    return notMet(`http ${url}: ${errorText(e)}`);
  }
}
