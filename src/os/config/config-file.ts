// Reading the configuration: the edge between the filesystem and the pure parser. The main
// file, then the files its `include` lines match (SPEC §15), each read and checked as a file
// — missing, a directory, a FIFO, too big, not text, unsafe ownership become one line naming
// the file and the fix — then parsed on its own and assembled into one Config, all or
// nothing. An invalid configuration ends with the summary line `FILE: parse failed: N errors`
// (upstream's wording, which scripts and log searches grep for). Never throws: start-up and
// every reload rely on that.

import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, realpathSync, statSync, type Stats } from "node:fs";
import { isDirectory } from "../files.ts";
import { join } from "node:path";
import { assemble } from "../../config/assemble.ts";
import { formatErrors, parseFailedLine } from "../../config/errors.ts";
import type { Config } from "../../config/model.ts";
import { includePatterns, parseFile, type ParsedFile } from "../../config/parse.ts";
import { includeDir, includeNameFilter } from "./include-glob.ts";
import { rootGroupMembers } from "./root-group.ts";
import { rootOnlyFaults } from "./root-only.ts";

/** Larger than any real pmtr.conf by orders of magnitude; bounds the memory a bad -c can cost. */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;

export type LoadedConfig =
  | { readonly ok: true; readonly config: Config; readonly digest: string; readonly includes: readonly string[] }
  /** `digest` is the content's when it could be read (a reload can then skip a mere touch
   *  of a file whose errors were already logged), else null. */
  | { readonly ok: false; readonly messages: string[]; readonly digest: string | null; readonly includes: readonly string[] };
// `includes`: the patterns of the main file as just read, valid or not, so that the watch
// (config-watch.ts) follows a new `include` line even while the set is rejected: fixing the
// broken included file must be noticed.

type Bytes = { ok: true; bytes: Uint8Array } | { ok: false; messages: string[] };

export interface ReadOptions {
  /** pmtr runs as root: refuse files (and include directories) others could change. */
  readonly enforceOwnership: boolean;
  /** Members of group 0 besides root (tests give their own); read from /etc/group by default. */
  readonly rootGroupMembers?: () => string[];
}

export function readConfigFile(path: string, opts: ReadOptions): LoadedConfig {
  try {
    const owner = ownershipCheck(opts);
    const read = readBytes(path, owner);
    if (!read.ok) return failed(path, read.messages, null, []);
    const hash = new Bun.CryptoHasher("sha256").update(read.bytes);
    const text = decodeText(read.bytes);
    if (typeof text !== "string") return failed(path, [`${path}: ${text.problem}`], hash.digest("hex"), []);
    const main = parsed(text, path, false, read.bytes);
    const includes = includePatterns(main);
    const { parts, problems } = readIncluded(path, includes, owner, hash);
    const digest = hash.digest("hex");
    rotateParseCache();
    const result = assemble(main, parts);
    if (result.ok && problems.length === 0) return { ok: true, config: result.config, digest, includes };
    return failed(path, [...(result.ok ? [] : formatErrors(path, result.errors)), ...problems], digest, includes);
  } catch (e) {
    // Not expected; a last guard so that a surprise is one line, never a stack trace.
    return failed(path, [`${path}: cannot read the configuration file: ${e instanceof Error ? e.message : String(e)}`], null, []);
  }
}

/** Each file's parse by its path and content, from the last read: an edit of one of 100
 *  included files re-parses that file only (the parse of 1000 jobs is most of a reload's
 *  work). Parsing is pure, so the same bytes always give the same ParsedFile. */
let parseCache = new Map<string, { readonly digest: string; readonly part: ParsedFile }>();
let parseCacheNext = new Map<string, { readonly digest: string; readonly part: ParsedFile }>();

function parsed(text: string, file: string, included: boolean, bytes: Uint8Array): ParsedFile {
  const key = `${included ? "i" : "m"}\0${file}`;
  const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  const hit = parseCache.get(key) ?? parseCacheNext.get(key);
  const part = hit?.digest === digest ? hit.part : parseFile(text, file, included);
  parseCacheNext.set(key, { digest, part });
  return part;
}

/** Keeps the entries of the read that just finished, drops the rest. */
function rotateParseCache(): void {
  parseCache = parseCacheNext;
  parseCacheNext = new Map();
}

function failed(path: string, messages: string[], digest: string | null, includes: readonly string[]): LoadedConfig {
  return { ok: false, messages: [...messages, parseFailedLine(path, messages)], digest, includes };
}

/** The files `patterns` match, read and parsed in order; each file once, the main file never
 *  (a pattern such as /etc/*.conf may match it). The digest covers names and contents, so
 *  adding, removing or editing an included file is a change. */
function readIncluded(mainPath: string, patterns: readonly string[], owner: OwnershipCheck, hash: Bun.CryptoHasher): { parts: ParsedFile[]; problems: string[] } {
  const parts: ParsedFile[] = [];
  const problems: string[] = [];
  const seen = new Set<string>([realPath(mainPath)]);
  for (const pattern of patterns) {
    const listed = listIncluded(pattern, owner);
    problems.push(...listed.problems);
    for (const file of listed.files) {
      const real = realPath(file);
      if (seen.has(real)) continue;
      seen.add(real);
      const read = readBytes(file, owner);
      if (!read.ok) {
        problems.push(...read.messages);
        continue;
      }
      hash.update(`\0${file}\0`).update(read.bytes);
      const text = decodeText(read.bytes);
      if (typeof text !== "string") problems.push(`${file}: ${text.problem}`);
      else parts.push(parsed(text, file, true, read.bytes));
    }
  }
  return { parts, problems };
}

/** The files matching `pattern` (include-glob.ts), sorted; no match is fine. Directories are skipped. */
export function listIncluded(pattern: string, owner: OwnershipCheck): { files: string[]; problems: string[] } {
  const dir = includeDir(pattern);
  const matches = includeNameFilter(pattern);
  let names: string[];
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) return { files: [], problems: [`${pattern}: ${dir} is not a directory (include takes /DIR/GLOB)`] };
    const unsafe = owner(dir, st, "directory of included files");
    if (unsafe.length > 0) return { files: [], problems: unsafe };
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") return { files: [], problems: [] };
    return { files: [], problems: [`${pattern}: cannot list ${dir}: ${openProblem(e)}`] };
  }
  const files = names
    .filter(matches)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => join(dir, n))
    .filter((f) => !isDirectory(f));
  return { files, problems: [] };
}


function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function readBytes(path: string, owner: OwnershipCheck): Bytes {
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
    const unsafe = owner(path, st, "configuration file");
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

/** Why others could change `path` (one line per fault), empty when only root can. */
export type OwnershipCheck = (path: string, st: Stats, what: string) => string[];

/** pmtr as root runs whatever the files say as root (root-only.ts). Writable by group 0 is
 *  writable by root alone while that group has no other member (root-group.ts). */
function ownershipCheck(opts: ReadOptions): OwnershipCheck {
  if (!opts.enforceOwnership) return () => [];
  let members: string[] | undefined;
  const rootGroup = () => (members ??= (opts.rootGroupMembers ?? rootGroupMembers)());
  return (path, st, what) => {
    const groupRoot = (st.mode & 0o020) !== 0 && st.gid === 0;
    const others = groupRoot ? rootGroup() : [];
    const note = others.length > 0 ? `; its group root has members besides root (${others.join(", ")})` : "";
    return rootOnlyFaults(path, st, groupRoot && others.length === 0).map(({ fault, fix }) =>
      `${path}: refusing a ${what} ${fault}: pmtr runs as root and would run its commands${fault.includes("group") ? note : ""} (fix: ${fix})`);
  };
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
