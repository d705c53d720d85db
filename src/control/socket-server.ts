// The local control socket: a unix stream socket, mode 0600 from the moment it exists, one
// newline-terminated JSON request per connection answered by one JSON line. Only the user
// pmtr runs as (root, normally) can connect; the file mode is the whole access check.

import { lstatSync, unlinkSync } from "node:fs";
import type { Socket, UnixSocketListener } from "bun";
import { GroupUsageCache } from "../os/proc-groups.ts";
import { ChangeWaiter } from "./change-waiter.ts";
import { decodeRequest, encode, MAX_MESSAGE_BYTES, type ControlResponse } from "./protocol.ts";
import { handleRequest } from "./request-handler.ts";
import { clearStaleSocket } from "./socket-file.ts";
import type { ControlLog, ControlTarget } from "./target.ts";

/** A client that sends nothing for this long is dropped, so stuck clients cannot pile up fds. */
const IDLE_TIMEOUT_SEC = 30;

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
  // bind(2) creates the file with 0777 & ~umask; the umask is process-wide, but Bun.listen binds
  // synchronously, so nothing else runs while it is narrowed and the socket is never reachable
  // with looser permissions (a chmod after bind would leave a window).
  const oldUmask = process.umask(0o177);
  try {
    listener = Bun.listen<Connection>({
      unix: path,
      socket: {
        open(socket) {
          socket.data = { received: "", receivedBytes: 0, answered: false, closed: false, unsent: null, ending: false };
          socket.timeout(IDLE_TIMEOUT_SEC);
        },
        data(socket, chunk) {
          const conn = socket.data;
          if (conn.answered) return;
          conn.receivedBytes += chunk.length;
          conn.received += chunk.toString("utf8");
          const newline = conn.received.indexOf("\n");
          if (newline < 0 && conn.receivedBytes <= MAX_MESSAGE_BYTES) return;
          conn.answered = true;
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
          // Longer than the slowest answer (a restart waits out the 10 s grace period), so
          // only a peer that is stuck or silent is dropped here.
          socket.end();
        },
        close(socket) {
          socket.data.closed = true;
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
