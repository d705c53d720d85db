// `ready tcp HOST:PORT` / `check tcp ...`: met when a TCP connection is accepted. The
// connection is closed at once without sending anything, as a load balancer's check does.

import { errorText, MET, notMet, type ProbeResult } from "./result.ts";

export async function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const where = `connect ${host.includes(":") ? `[${host}]` : host}:${port}`;
  let timer: Timer | null = null;
  const timedOut = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve(notMet(`${where}: no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  const attempt = (async (): Promise<ProbeResult> => {
    try {
      const socket = await Bun.connect({ hostname: host, port, socket: { data() {}, error() {} } });
      socket.end();
      return MET;
    } catch (e) {
      return notMet(`${where}: ${errorText(e)}`);
    }
  })();
  try {
    return await Promise.race([attempt, timedOut]);
  } finally {
    if (timer) clearTimeout(timer);
    // A connect that completes after the timeout is closed by the attempt itself.
  }
}
