// Control datagrams received on `listen on udp://...`, compatible with upstream pmtr:
// words separated by whitespace; `enable` and `disable` switch the mode for the names that
// follow, so `enable a b disable c` is three requests. Upstream split on single spaces only
// and kept a trailing newline in the last name; we take runs of space, tab, CR and LF as one
// separator and ignore them at both ends. Only those: they are what separates words in
// pmtr.conf, where a job name may contain any other character. JavaScript's \s would also
// split on no-break and other Unicode spaces and on a byte-order mark, so that
// "disable\u00a0web" disabled web: a datagram no operator writes must not act on a job.

/** Upstream read at most 2000 bytes; a longer datagram is not a control message. */
export const MAX_DATAGRAM_BYTES = 2000;

export interface EnableRequest {
  readonly enabled: boolean;
  readonly names: readonly string[];
}

export type DatagramParse =
  | { readonly ok: true; readonly requests: readonly EnableRequest[] }
  | { readonly ok: false; readonly message: string };

export function parseControlDatagram(bytes: Uint8Array): DatagramParse {
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    return { ok: false, message: `control datagram of ${bytes.length} bytes ignored (at most ${MAX_DATAGRAM_BYTES})` };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, message: "control datagram ignored: not UTF-8 text" };
  }
  // Control characters other than tab, LF and CR mean this is not a message for us; refusing
  // them also keeps log lines (which quote the datagram) on one line.
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text)) return { ok: false, message: "control datagram ignored: it contains control characters" };
  const words = text.split(/[ \t\r\n]+/).filter((w) => w !== "");
  if (words.length === 0) return { ok: false, message: "empty control datagram ignored (expected enable NAME... or disable NAME...)" };

  const requests: { enabled: boolean; names: string[] }[] = [];
  for (const word of words) {
    if (word === "enable" || word === "disable") {
      requests.push({ enabled: word === "enable", names: [] });
    } else if (requests.length === 0) {
      return { ok: false, message: `control datagram ${quote(text)} ignored (expected enable NAME... or disable NAME...)` };
    } else {
      requests[requests.length - 1]!.names.push(word);
    }
  }
  const bare = requests.find((r) => r.names.length === 0);
  if (bare) return { ok: false, message: `control datagram ${quote(text)} ignored: ${bare.enabled ? "enable" : "disable"} names no job` };
  return { ok: true, requests };
}

/** The datagram as a log shows it: separator runs as one space, cut at 80 characters, and
 *  invisible characters (Unicode spaces, format characters such as a byte-order mark) as \uXXXX,
 *  so that a log line never shows "disable web" for a datagram that was not. */
function quote(text: string): string {
  const flat = text.replace(/[ \t\r\n]+/g, " ").replace(/^ | $/g, "");
  const cut = flat.length > 80 ? `${flat.slice(0, 80)}...` : flat;
  return JSON.stringify(cut).replace(/[^\S ]|\p{Cf}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
