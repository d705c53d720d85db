// Reading the configuration file: the edge between the filesystem and the pure parser.
// Everything that can be wrong with the file as a file (missing, a directory, a FIFO, too
// big, not text, unsafe ownership) becomes one line naming the file and the fix; the content
// then goes to parseConfig. Never throws: start-up and every reload rely on that.

import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { formatErrors, parseConfig } from "../config/index.ts";
import type { Config } from "../config/model.ts";
import { rootOnlyFaults } from "./root-only.ts";

/** Larger than any real pmtr.conf by orders of magnitude; bounds the memory a bad -c can cost. */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;

export type LoadedConfig =
  | { readonly ok: true; readonly config: Config; readonly digest: string }
  /** `digest` is the content's when it could be read (a reload can then skip a mere touch
   *  of a file whose errors were already logged), else null. */
  | { readonly ok: false; readonly messages: string[]; readonly digest: string | null };

type Bytes = { ok: true; bytes: Uint8Array } | { ok: false; messages: string[] };

export function readConfigFile(path: string, opts: { enforceOwnership: boolean }): LoadedConfig {
  try {
    const read = readBytes(path, opts.enforceOwnership);
    if (!read.ok) return { ok: false, messages: read.messages, digest: null };
    const digest = createHash("sha256").update(read.bytes).digest("hex");
    const text = decodeText(read.bytes);
    if (typeof text !== "string") return { ok: false, messages: [`${path}: ${text.problem}`], digest };
    const parsed = parseConfig(text, path);
    if (parsed.ok) return { ok: true, config: parsed.config, digest };
    return { ok: false, messages: formatErrors(path, parsed.errors), digest };
  } catch (e) {
    // Not expected; a last guard so that a surprise is one line, never a stack trace.
    return { ok: false, messages: [`${path}: cannot read the configuration file: ${e instanceof Error ? e.message : String(e)}`], digest: null };
  }
}

function readBytes(path: string, enforceOwnership: boolean): Bytes {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO given as -c must not hang; it is refused below as not a file.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return { ok: false, messages: [`${path}: cannot read the configuration file: ${openProblem(e)}`] };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, messages: [`${path}: is a directory, not a configuration file (give a file with -c FILE)`] };
    if (!st.isFile()) return { ok: false, messages: [`${path}: is not a regular file (give a configuration file with -c FILE)`] };
    const unsafe = enforceOwnership ? ownershipProblems(path, st) : [];
    if (unsafe.length > 0) return { ok: false, messages: unsafe };
    if (st.size > MAX_CONFIG_BYTES) return { ok: false, messages: [tooBig(path, st.size)] };
    // Read up to one byte past the limit: the file may have grown since fstat.
    const buffer = new Uint8Array(Math.min(st.size, MAX_CONFIG_BYTES) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n <= 0) break;
      length += n;
      if (length === buffer.length) {
        if (length > MAX_CONFIG_BYTES) return { ok: false, messages: [tooBig(path, length)] };
        break;
      }
    }
    return { ok: true, bytes: buffer.subarray(0, length) };
  } finally {
    closeSync(fd);
  }
}

/** pmtr as root runs whatever the file says as root (root-only.ts); one line per fault. */
function ownershipProblems(path: string, st: Stats): string[] {
  return rootOnlyFaults(path, st).map(({ fault, fix }) => `${path}: refusing a configuration file ${fault}: pmtr runs as root and would run its commands (fix: ${fix})`);
}

function tooBig(path: string, size: number): string {
  return `${path}: is ${(size / 1048576).toFixed(1)} MiB, over the 10 MiB limit for a configuration file`;
}

/** The text, or why the bytes are not UTF-8 text (with the line where it shows). */
function decodeText(bytes: Uint8Array): string | { problem: string } {
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { problem: `contains a NUL byte on line ${lineAt(bytes, nul)}: not a text file` };
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { problem: `is not UTF-8 text (first invalid byte on line ${firstInvalidLine(bytes)})` };
  }
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 10) line++;
  return line;
}

function firstInvalidLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  for (let line = 1; ; line++) {
    const end = bytes.indexOf(10, start);
    try {
      decoder.decode(bytes.subarray(start, end < 0 ? bytes.length : end));
    } catch {
      return line;
    }
    if (end < 0) return line;
    start = end + 1;
  }
}

function openProblem(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case "ENOENT":
      return "no such file (create it, or give another file with -c FILE)";
    case "EACCES":
      return "permission denied (run pmtr as a user who may read it, or fix its permissions)";
    case "ENOTDIR":
      return "a component of the path is not a directory";
    case "ELOOP":
      return "too many levels of symbolic links";
    default:
      return code ?? (e instanceof Error ? e.message : String(e));
  }
}
