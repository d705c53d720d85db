// The receiving end of sd_notify for jobs with `ready notify` (SPEC §12): one unix datagram
// socket per job, owned by the job's user and mode 0600, so only that user (and root) can
// speak for the job — the socket itself says which job a datagram is from.
//
// Read with recvmsg(MSG_DONTWAIT) through libc: Bun has no unix datagram API, and reading the
// fd as a stream merges datagrams ("READY=1STATUS=x") and loses the file descriptors
// systemd-notify sends with BARRIER=1. Those are closed at once: systemd-notify waits until
// the barrier fd is closed before it exits.

import { ptr } from "bun:ffi";
import { chmodSync, chownSync } from "node:fs";
import { errnoText, lastErrno, libc } from "../libc.ts";
import { AF_UNIX, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, socketAddress } from "../unix-dgram.ts";

const MSG_TRUNC = 0x20;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/** sd_notify datagrams are a few hundred bytes; systemd itself accepts at most a page or so.
 *  A longer one is read truncated and ignored whole. */
export const DATAGRAM_MAX_BYTES = 4096;
/** Room for the fds one datagram may carry (systemd-notify sends one with BARRIER=1). */
const CONTROL_BYTES = 256;

type Libc = ReturnType<typeof libc>;

const close = (fd: number) => libc().close(fd);

// One receive buffer for every socket: pmtr reads one datagram at a time on one thread.
const data = new Uint8Array(DATAGRAM_MAX_BYTES);
const control = new Uint8Array(CONTROL_BYTES);
const iov = new BigUint64Array(2);
const msghdr = new Uint8Array(56);

export interface Received {
  /** The datagram's text; null when it was longer than DATAGRAM_MAX_BYTES (ignored). */
  readonly text: string | null;
}

export interface NotifySocket {
  readonly path: string;
  /** Every datagram waiting now (at most `max`), oldest first; never blocks. */
  drain(max: number): Received[];
  close(): void;
}

/** Binds a socket at `path` that only `uid`/`gid` may send to. The caller picks a path short
 *  enough for sun_path and in a directory it owns; an old socket file there is replaced. */
export function openNotifySocket(
  path: string,
  owner: { uid: number; gid: number },
  unlink: (path: string) => void,
): { ok: true; socket: NotifySocket } | { ok: false; message: string } {
  const addr = socketAddress(path);
  if (!addr.ok) return addr;
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return { ok: false, message: `notify socket: ${errnoText(lastErrno())}` };
  const fail = (what: string, text = errnoText(lastErrno())) => {
    close(fd);
    return { ok: false as const, message: `notify socket ${path}: ${what}: ${text}` };
  };
  try {
    unlink(path);
  } catch {
    // not there: fine
  }
  if (c.bind(fd, addr.bytes, addr.bytes.length) !== 0) return fail("bind");
  // Mode first, owner second: between the two only root can write to it.
  try {
    chmodSync(path, 0o600);
    chownSync(path, owner.uid, owner.gid);
  } catch (e) {
    return fail((e as NodeJS.ErrnoException).syscall ?? "chmod", (e as Error).message);
  }
  let open = true;
  const socket: NotifySocket = {
    path,
    drain(max) {
      const out: Received[] = [];
      while (open && out.length < max) {
        const got = receive(c, fd);
        if (got === null) break;
        out.push(got);
      }
      return out;
    },
    close() {
      if (!open) return;
      open = false;
      close(fd);
      try {
        unlink(path);
      } catch {
        // already gone
      }
    },
  };
  return { ok: true, socket };
}

/** One datagram, or null when none is waiting (or on an error, which the next poll retries). */
function receive(c: Libc, fd: number): Received | null {
  iov[0] = BigInt(ptr(data));
  iov[1] = BigInt(data.length);
  const h = new DataView(msghdr.buffer);
  msghdr.fill(0);
  // struct msghdr on LP64 (x86_64, aarch64): name, namelen(+pad), iov, iovlen, control,
  // controllen, flags(+pad).
  h.setBigUint64(16, BigInt(ptr(iov)), true);
  h.setBigUint64(24, 1n, true);
  h.setBigUint64(32, BigInt(ptr(control)), true);
  h.setBigUint64(40, BigInt(control.length), true);
  const n = Number(c.recvmsg(fd, msghdr, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  // EAGAIN: nothing waiting. Anything else (EINTR, ENOBUFS) is retried at the next poll.
  if (n < 0) return null;
  closeReceivedFds(Number(h.getBigUint64(40, true)));
  const flags = h.getInt32(48, true);
  if ((flags & MSG_TRUNC) !== 0) return { text: null };
  return { text: new TextDecoder().decode(data.subarray(0, n)) };
}

/** Walks the control messages and closes every fd passed with SCM_RIGHTS. */
function closeReceivedFds(controlLen: number): void {
  const v = new DataView(control.buffer);
  let off = 0;
  while (off + 16 <= controlLen) {
    const len = Number(v.getBigUint64(off, true));
    if (len < 16) break;
    const level = v.getInt32(off + 8, true);
    const type = v.getInt32(off + 12, true);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len && p + 4 <= controlLen; p += 4) close(v.getInt32(p, true));
    }
    off += (len + 7) & ~7; // CMSG_ALIGN on LP64
  }
}
