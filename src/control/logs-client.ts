// `pmtr logs NAME [-n N] [-f]` (SPEC §13): the last N lines of the job's out and err files,
// labelled `==> FILE <==` (as tail does) when there are two, then with -f every new line until
// interrupted. The job's files come from the configuration file (-c, default /etc/pmtr.conf),
// not from the running pmtr: logs works whether or not pmtr runs, and needs no control socket.
//
// Following survives rotation both ways: pmtr's own `rotate` and logrotate's `create` (the
// file at the path is a new one: the old one is read to its end first, then the new one from
// its start) and `copytruncate` (the file shrank: read again from its start).

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { readConfigFile } from "../os/config/config-file.ts";
import { lastLines } from "./logs-tail.ts";
import { outputPlace } from "./logs-where.ts";
import { CLIENT_EXIT } from "./status-format.ts";

const FOLLOW_POLL_MS = 200;
const READ_BYTES = 64 * 1024;
const JOURNALD_SOCKET = "/run/systemd/journal/socket";
const SYSLOG_SOCKET = "/dev/log";

export interface LogsRequest {
  readonly name: string;
  readonly lines: number;
  readonly follow: boolean;
  readonly configPath: string;
}

export interface LogsIo {
  readonly out: (text: string) => void | Promise<unknown>;
  readonly err: (text: string) => void | Promise<unknown>;
}

export async function runLogs(req: LogsRequest, io: LogsIo): Promise<number> {
  const loaded = readConfigFile(req.configPath, { enforceOwnership: false });
  if (!loaded.ok) {
    await io.err(loaded.messages.map((m) => `${m}\n`).join("") + `pmtr: cannot tell where job ${req.name} writes: ${req.configPath} cannot be used (give the configuration with -c FILE)\n`);
    return CLIENT_EXIT.failed;
  }
  // A job with `instances N` answers to its base name with every instance, as restart and
  // status do (SPEC §15): their files are shown labelled, one after the other.
  const exact = loaded.config.jobs.find((j) => j.name === req.name);
  const jobs = exact ? [exact] : loaded.config.jobs.filter((j) => j.instance?.base === req.name);
  if (jobs.length === 0) {
    await io.err(`pmtr: no job named ${JSON.stringify(req.name)} in ${req.configPath}\n`);
    return CLIENT_EXIT.unknown;
  }
  const syslog = existsSync(JOURNALD_SOCKET) ? "journald" : existsSync(SYSLOG_SOCKET) ? "syslog" : "none";
  const places = jobs.flatMap((job) => [outputPlace(job, "out", syslog), outputPlace(job, "err", syslog)]);
  const paths = [...new Set(places.flatMap((p) => (p.kind === "file" ? [p.path] : [])))];
  // Where the other stream goes is the answer when there is no file to show, and a note on
  // stderr (out of the way of the lines, and of a pipe) when there is.
  const note = paths.length === 0 ? io.out : io.err;
  for (const p of places) if (p.kind === "elsewhere") await note(`${p.text}\n`);
  const labelled = paths.length > 1;
  // Following starts where the tail ends: each file is opened first and the tail is read from
  // that same open file up to its size then, so a line written meanwhile is shown once.
  const followed = req.follow ? paths.map(startFollowing) : [];
  for (const [i, path] of paths.entries()) {
    if (labelled) await io.out(`${i > 0 ? "\n" : ""}==> ${path} <==\n`);
    const text = lastLines(path, req.lines, followed[i]);
    if (text === null) await io.err(`pmtr: ${path}: ${readError(path)}\n`);
    else await io.out(text);
  }
  if (!req.follow || paths.length === 0) return CLIENT_EXIT.ok;
  return follow(followed, labelled, io);
}

function readError(path: string): string {
  try {
    statSync(path);
    return "cannot be read (permission denied?)";
  } catch (e) {
    return (e as { code?: string }).code === "ENOENT" ? "does not exist (yet)" : String((e as Error).message);
  }
}

/** One followed file: its open fd, where we are in it, and what identifies it. */
interface Followed {
  readonly path: string;
  fd: number | null;
  ino: number;
  offset: number;
  partial: string;
}

function startFollowing(path: string): Followed {
  const f: Followed = { path, fd: null, ino: -1, offset: 0, partial: "" };
  openAtEnd(f);
  return f;
}

async function follow(files: readonly Followed[], labelled: boolean, io: LogsIo): Promise<number> {
  let lastShown: string | null = labelled ? files[files.length - 1]!.path : null;
  const show = async (f: Followed, text: string) => {
    const whole = f.partial + text;
    const cut = whole.lastIndexOf("\n") + 1;
    f.partial = whole.slice(cut);
    if (cut === 0) return;
    if (labelled && lastShown !== f.path) await io.out(`\n==> ${f.path} <==\n`);
    lastShown = f.path;
    await io.out(whole.slice(0, cut));
  };
  for (;;) {
    for (const f of files) {
      if (f.fd !== null) await show(f, readRest(f));
      // A new file at the path (rotated, or created by logrotate): the old one was read to
      // its end just above; the new one is read from its start.
      const ino = inodeOf(f.path);
      if (ino !== null && ino !== f.ino) {
        if (f.fd !== null) {
          await show(f, readRest(f)); // written between the read above and the rename
          closeSync(f.fd);
        }
        f.fd = null;
        // Rotated more than once since the last look: the files between ours and the new F
        // are read whole, oldest first.
        for (const between of rotatedSince(f.path, f.ino)) await show(f, readWhole(between));
        try {
          f.fd = openSync(f.path, "r");
          f.ino = fstatSync(f.fd).ino;
          f.offset = 0;
          await show(f, readRest(f));
        } catch {}
      }
    }
    await Bun.sleep(FOLLOW_POLL_MS);
  }
}

function openAtEnd(f: Followed): void {
  try {
    f.fd = openSync(f.path, "r");
    const st = fstatSync(f.fd);
    f.ino = st.ino;
    f.offset = st.size;
  } catch {
    f.fd = null;
  }
}

/** What was appended to the open file since the last read; from its start again when it
 *  shrank (copytruncate). */
function readRest(f: Followed): string {
  const fd = f.fd!;
  const size = fstatSync(fd).size;
  if (size < f.offset) f.offset = 0;
  const chunks: Buffer[] = [];
  while (f.offset < size) {
    const buf = Buffer.alloc(Math.min(READ_BYTES, size - f.offset));
    const n = readSync(fd, buf, 0, buf.length, f.offset);
    if (n <= 0) break;
    f.offset += n;
    chunks.push(buf.subarray(0, n));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** F.1, F.2 ... up to the one that is the file with inode `ino` (what we were reading): the
 *  ones before it, newest last. Empty when `ino` is not among the first few (logrotate's own
 *  names, or too far behind): then only the new F is read. */
function rotatedSince(path: string, ino: number): string[] {
  const newer: string[] = [];
  for (let n = 1; n <= 10; n++) {
    const at = inodeOf(`${path}.${n}`);
    if (at === null) return [];
    if (at === ino) return newer.reverse();
    newer.push(`${path}.${n}`);
  }
  return [];
}

function readWhole(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}
