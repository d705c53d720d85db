// The local control socket: a unix stream socket, mode 0600 from the moment it exists, one
// newline-terminated JSON request per connection answered by one JSON line. Only the user
// pmtr runs as (root, normally) can connect; the file mode is the whole access check.

import { closeSync, lstatSync, openSync, unlinkSync } from "node:fs";
import type { Socket, UnixSocketListener } from "bun";
import { GroupUsageCache } from "../os/proc/proc-groups.ts";
import { ChangeWaiter } from "./change-waiter.ts";
import { decodeRequest, encode, MAX_MESSAGE_BYTES, type ControlRequest, type ControlResponse } from "./protocol.ts";
import { handleRequest } from "./request-handler.ts";
import { clearStaleSocket } from "./socket-file.ts";
import type { ControlLog, ControlTarget } from "./target.ts";

/** A client that sends nothing for this long once its request is in is dropped, so stuck
 *  clients cannot pile up fds. */
const IDLE_TIMEOUT_SEC = 30;
/** A client must send its whole request within this: `pmtr` sends it at once, so only a
 *  stuck or hostile peer takes longer (fault 6 of issue 12: idle connections exhausting fds). */
const REQUEST_TIMEOUT_SEC = 5;
/** Connections served at once. Each holds an fd, and an fd table filled by control clients
 *  made accept(2) fail with EMFILE over and over: the listening socket stays ready, and the
 *  event loop spun at 97 % CPU. When full, the oldest connection that has not sent its request
 *  yet is closed to make room (a real client sends it at once, so it is served even while
 *  idle ones are piling up); when every one has a request in progress, the newcomer is
 *  answered "busy". */
export const MAX_CONNECTIONS = 16;
/** While fewer fds than this are free, a new connection makes room by closing the oldest
 *  silent one, so idle clients cannot hold the fds that jobs (spawn.ts keeps the same margin)
 *  and the next accept(2) need. It is still served: `pmtr status` answers under fd
 *  exhaustion (test/reliability/fd-exhaustion.rel.ts). */
const FDS_KEPT_FREE = 8;
/** At most one warning about refused connections per this long. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface ControlServer {
  readonly path: string;
  /** Call from Ports.changed(): pending start/stop/restart requests check for their outcome. */
  changed(): void;
  /** Stop listening and remove the socket file (only if it is still ours). */
  close(): void;
}

interface Connection {
  received: string;
  receivedBytes: number;
  answered: boolean;
  /** The peer went away; a late answer (a slow stop) is dropped. */
  closed: boolean;
  /** Bytes of the response the kernel has not taken yet. */
  unsent: Uint8Array | null;
  /** The final response is queued: end the connection once it is sent. */
  ending: boolean;
  /** Counted among the connections being served (not refused at once). */
  counted: boolean;
}

export type StartResult = { readonly ok: true; readonly server: ControlServer } | { readonly ok: false; readonly message: string };

export async function startControlServer(path: string, target: ControlTarget, log: ControlLog): Promise<StartResult> {
  const cleared = await clearStaleSocket(path);
  if (!cleared.ok) return cleared;

  const waiter = new ChangeWaiter();
  // One /proc scan serves every job of a `status --json`; a second status within the second
  // reuses it (a new pid triggers a new scan).
  const usage = new GroupUsageCache({ maxAgeMs: 1000 });
  const ctx = { target, waiter, log, groupUsage: (pgids: readonly number[]) => usage.usage(pgids) };
  let listener: UnixSocketListener<Connection>;
  let active = 0;
  /** Counted connections that have not sent their request yet, oldest first. */
  const silent = new Set<Socket<Connection>>();
  let refused = 0;
  let lastRefusalLogMs = -Infinity;
  const uncount = (socket: Socket<Connection>) => {
    silent.delete(socket);
    if (socket.data.counted) active--;
    socket.data.counted = false;
  };
  const evictOldestSilent = () => {
    const oldest = silent.values().next().value;
    if (oldest === undefined) return;
    uncount(oldest);
    oldest.terminate();
  };
  // bind(2) creates the file with 0777 & ~umask; the umask is process-wide, but Bun.listen binds
  // synchronously, so nothing else runs while it is narrowed and the socket is never reachable
  // with looser permissions (a chmod after bind would leave a window).
  const oldUmask = process.umask(0o177);
  try {
    listener = Bun.listen<Connection>({
      unix: path,
      socket: {
        open(socket) {
          socket.data = { received: "", receivedBytes: 0, answered: false, closed: false, unsent: null, ending: false, counted: false };
          if (active >= MAX_CONNECTIONS || (silent.size > 0 && !fdsFree(FDS_KEPT_FREE))) evictOldestSilent();
          const refusal = active >= MAX_CONNECTIONS ? `${active} control requests in progress, at most ${MAX_CONNECTIONS}` : null;
          if (refusal !== null) {
            refused++;
            if (performance.now() - lastRefusalLogMs >= REFUSAL_LOG_INTERVAL_MS) {
              lastRefusalLogMs = performance.now();
              log("warning", `control socket: refused ${refused} connection(s): ${refusal} (a client that sends no request is dropped after ${REQUEST_TIMEOUT_SEC} s)`);
              refused = 0;
            }
            socket.data.answered = true;
            reply(socket, { ok: false, error: `pmtr is busy: ${refusal}; try again` });
            return;
          }
          socket.data.counted = true;
          active++;
          silent.add(socket);
          socket.timeout(REQUEST_TIMEOUT_SEC);
        },
        data(socket, chunk) {
          const conn = socket.data;
          if (conn.answered) return;
          conn.receivedBytes += chunk.length;
          conn.received += chunk.toString("utf8");
          const newline = conn.received.indexOf("\n");
          if (newline < 0 && conn.receivedBytes <= MAX_MESSAGE_BYTES) return;
          conn.answered = true;
          silent.delete(socket);
          socket.timeout(IDLE_TIMEOUT_SEC);
          if (newline < 0 || newline > MAX_MESSAGE_BYTES) {
            reply(socket, { ok: false, error: `request larger than ${MAX_MESSAGE_BYTES} bytes` });
            return;
          }
          const decoded = decodeRequest(conn.received.slice(0, newline));
          if (!decoded.ok) {
            log("warning", `control socket: ${decoded.error}`);
            reply(socket, { ok: false, error: decoded.error });
            return;
          }
          log("debug", `control socket: ${describeRequest(decoded.request)}`);
          const early = (response: ControlResponse) => {
            // The idle timeout must not cut off an answer that legitimately takes longer (a
            // job whose stop timeout is 60 s).
            if (response.ok && response.op === "accepted") socket.timeout(IDLE_TIMEOUT_SEC + Math.ceil(response.deadlineMs / 1000));
            send(socket, response, false);
          };
          handleRequest(decoded.request, { ...ctx, early }).then(
            (response) => reply(socket, response),
            (error) => {
              log("err", `control socket: ${decoded.request.op} failed: ${(error as Error).message}`);
              reply(socket, { ok: false, error: `${decoded.request.op} failed: ${(error as Error).message}` });
            },
          );
        },
        drain(socket) {
          flush(socket);
        },
        timeout(socket) {
          // Before the request: a silent peer. After it: longer than the slowest answer (a
          // restart waits out the 10 s grace period), so only a stuck peer. Closed outright:
          // end() would wait for a peer that is not reading.
          socket.terminate();
        },
        close(socket) {
          socket.data.closed = true;
          uncount(socket);
        },
        error() {},
      },
    });
  } catch (error) {
    return { ok: false, message: `cannot listen on control socket ${path}: ${bindProblem(error)} (give another path with -s)` };
  } finally {
    process.umask(oldUmask);
  }
  const { ino, dev } = lstatSync(path);

  return {
    ok: true,
    server: {
      path,
      changed: () => waiter.changed(),
      close() {
        waiter.close();
        listener.stop(true);
        // Bun removes the file itself; this covers a Bun that does not, and leaves a socket
        // that another pmtr has since put there alone.
        try {
          const st = lstatSync(path);
          if (st.ino === ino && st.dev === dev) unlinkSync(path);
        } catch {
          // already gone
        }
      },
    },
  };
}

function reply(socket: Socket<Connection>, response: ControlResponse): void {
  send(socket, response, true);
}

/** Queues one response line; `last` ends the connection once everything is sent. */
function send(socket: Socket<Connection>, response: ControlResponse, last: boolean): void {
  if (socket.data.closed || socket.data.ending) return;
  const line = new TextEncoder().encode(encode(response));
  const unsent = socket.data.unsent;
  if (unsent === null) socket.data.unsent = line;
  else {
    const joined = new Uint8Array(unsent.length + line.length);
    joined.set(unsent);
    joined.set(line, unsent.length);
    socket.data.unsent = joined;
  }
  socket.data.ending = last;
  flush(socket);
}

/** Write what the kernel takes; the drain handler calls again for the rest, then we close
 *  (after the last response). */
function flush(socket: Socket<Connection>): void {
  const unsent = socket.data.unsent;
  if (unsent === null) return;
  const written = socket.write(unsent);
  if (written < 0) return;
  if (written < unsent.length) {
    socket.data.unsent = unsent.subarray(written);
    return;
  }
  socket.data.unsent = null;
  if (socket.data.ending) socket.end();
}

/** True when `n` more fds could be opened now (they are closed again at once). */
function fdsFree(n: number): boolean {
  const held: number[] = [];
  try {
    for (let i = 0; i < n; i++) held.push(openSync("/dev/null", "r"));
    return true;
  } catch {
    return false;
  } finally {
    for (const fd of held) closeSync(fd);
  }
}

/** bind(2) failures as an operator reads them. */
function bindProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "permission denied",
    ENOENT: "the directory does not exist",
    ENOTDIR: "a part of the path is not a directory",
    EROFS: "read-only file system",
    ENAMETOOLONG: "path too long for a unix socket (108 bytes at most)",
    EADDRINUSE: "address in use",
  };
  return (code && known[code]) ?? (error as Error).message ?? String(error);
}

/** A request as `-v` logs it: the operation and what it names. */
function describeRequest(request: ControlRequest): string {
  const names = "names" in request ? request.names : [];
  const what = request.op === "signal" ? ` ${request.signal}` : "";
  const all = "all" in request && request.all ? " --all" : "";
  return `${request.op}${what}${all} request${names.length > 0 ? ` for ${names.join(" ")}` : ""}`;
}
