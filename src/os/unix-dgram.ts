// One datagram at a time to a unix socket, through libc: Bun has no unix datagram API, and
// both syslog's /dev/log and systemd's $NOTIFY_SOCKET are datagram sockets. Every send is
// non-blocking: a receiver that is slow, absent or refusing must never stall pmtr.

import { lastErrno, libc as openLibc } from "./libc.ts";

export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(sockaddr_un.sun_path) on Linux. */
const SUN_PATH_BYTES = 108;

const EAGAIN = 11;
const ENOBUFS = 105;
const ENOENT = 2;
const ECONNREFUSED = 111;
const ENOTDIR = 20;
const EACCES = 13;
const EPERM = 1;

/** "sent"; "busy": the receiver's queue is full, try later; "gone": nobody listens there;
 *  "failed": this datagram cannot be sent (too big, ...), the next one may be. */
export type SendResult = "sent" | "busy" | "gone" | "failed";

export interface DgramSender {
  readonly address: string;
  send(data: Uint8Array): SendResult;
  close(): void;
}

let libc: ReturnType<typeof openLibc> | undefined;

/** The sockaddr_un for `address`: a filesystem path, or `@name` for Linux's abstract namespace
 *  (as systemd writes NOTIFY_SOCKET). Returns an error message for an address that cannot be one. */
export function socketAddress(address: string): { ok: true; bytes: Uint8Array } | { ok: false; message: string } {
  const abstract = address.startsWith("@");
  const name = new TextEncoder().encode(abstract ? address.slice(1) : address);
  if (name.length === 0) return { ok: false, message: `socket address "${address}" is empty (expected a path or @name)` };
  // A path needs its terminating NUL inside sun_path; an abstract name has a leading NUL instead.
  if (name.length + 1 > SUN_PATH_BYTES) {
    return { ok: false, message: `socket address "${address}" is ${name.length} bytes long, more than the ${SUN_PATH_BYTES - 1} a unix socket allows (use a shorter path)` };
  }
  // The address length counts only the bytes used: for an abstract name every byte of
  // sun_path is part of the name, so padding would name a different socket.
  const bytes = new Uint8Array(2 + 1 + name.length);
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
  bytes.set(name, abstract ? 3 : 2);
  return { ok: true, bytes };
}

/** A sender to `address`. The socket is created on first use and addressed on every send (no
 *  connect), so a receiver that restarts (syslogd, journald) is found again without reopening. */
export function openDgram(address: string): { ok: true; sender: DgramSender } | { ok: false; message: string } {
  const sockaddr = socketAddress(address);
  if (!sockaddr.ok) return sockaddr;
  let fd = -1;
  const sender: DgramSender = {
    address,
    send(data) {
      try {
        libc ??= openLibc();
        if (fd < 0) fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return "failed";
        const n = Number(libc.sendto(fd, data, data.length, MSG_DONTWAIT | MSG_NOSIGNAL, sockaddr.bytes, sockaddr.bytes.length));
        if (n >= 0) return "sent";
        return classify(lastErrno());
      } catch {
        // dlopen itself failed (no libc by that name): nothing can be sent, and that must not
        // take pmtr down with it.
        return "gone";
      }
    },
    close() {
      if (fd >= 0 && libc) libc.close(fd);
      fd = -1;
    },
  };
  return { ok: true, sender };
}

function classify(err: number): SendResult {
  if (err === EAGAIN || err === ENOBUFS) return "busy";
  if (err === ENOENT || err === ECONNREFUSED || err === ENOTDIR || err === EACCES || err === EPERM) return "gone";
  return "failed";
}
