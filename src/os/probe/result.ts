// What one probe attempt says: met, or the reason it is not (shown in status and in the
// "not ready after 30 s: ..." line, so it names the address and the OS's own words).

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

export const MET: ProbeResult = { ok: true };

export function notMet(error: string): ProbeResult {
  return { ok: false, error };
}

/** Bun's socket and fetch errors carry an errno code; the operator reads the words. */
const CODE_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  EADDRNOTAVAIL: "Cannot assign requested address",
  ENOTFOUND: "Name or service not known",
  ConnectionRefused: "Connection refused",
  ConnectionClosed: "Connection closed",
  FailedToOpenSocket: "Cannot open socket",
};

export function errorText(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && CODE_TEXT[code]) return CODE_TEXT[code]!;
  if (e instanceof Error) return e.message;
  return String(e);
}
