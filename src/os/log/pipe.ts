// The pipes between a job and pmtr for captured output (`rotate`, `console`; SPEC §13).
// Node has no pipe(), and Bun's own "pipe" stdio is a socketpair whose size cannot be raised,
// so pipe2 comes from libc. A 1 MiB pipe (F_SETPIPE_SZ) lets pmtr read in larger chunks:
// 281 MB/s of 100-byte lines against 216 MB/s with the default 64 KiB (issue 14).

import { libc, O_CLOEXEC } from "../libc.ts";

const O_NONBLOCK = 0o4000;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETPIPE_SZ = 1031;
/** Also the most a captured stream holds in the kernel on pmtr's behalf. Unprivileged pmtr may
 *  be held to /proc/sys/fs/pipe-max-size (1 MiB by default): then the pipe keeps its size. */
export const PIPE_BYTES = 1 << 20;


export interface OutputPipe {
  /** pmtr's end, non-blocking (reader.ts reads it when its thread reports it ready). */
  readonly readFd: number;
  /** The job's end: blocking, so a job that outruns pmtr waits in write(2) (backpressure). */
  readonly writeFd: number;
}

/** Both ends close-on-exec: the job gets the write end by dup2 onto its fd 1 or 2, which
 *  clears the flag there, and no other child inherits either end (a stray writer would keep
 *  the reader from ever seeing end-of-file). Throws with the reason when there are no fds. */
export function openOutputPipe(): OutputPipe {
  const pipe = openWakePipe();
  libc().fcntl(pipe.writeFd, F_SETPIPE_SZ, PIPE_BYTES); // best effort: a smaller pipe only reads slower
  return pipe;
}

/** A default-sized pipe, both ends close-on-exec, the read end non-blocking: the output reader
 *  thread's wake-up pipe (reader.ts), read by a Bun stream. */
export function openWakePipe(): OutputPipe {
  const c = libc();
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) !== 0) throw new Error("pipe2 failed (no file descriptors left?)");
  const [readFd, writeFd] = [fds[0]!, fds[1]!];
  const flags = c.fcntl(readFd, F_GETFL, 0);
  c.fcntl(readFd, F_SETFL, flags | O_NONBLOCK);
  return { readFd, writeFd };
}
