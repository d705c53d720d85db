// Detaching without fork (SPEC §1: without -F the command returns once a background pmtr runs).
//
// Bun cannot fork, so the command re-executes itself: the same binary and arguments, the marker
// PMTR_DAEMON_CHILD in the environment (the child then behaves as with -F), its own session
// (`detached`: setsid, so no terminal hangup reaches it), stdin and stdout on /dev/null, and two
// pipes: its stderr, which the command copies to its own stderr, so every start-up message (each
// configuration error line, a pidfile held by another pmtr) reaches the operator exactly as in
// the foreground; and fd 3, on which it reports its verdict. Once running, it points stderr at
// /dev/null and reports "ready"; the command returns 0. If it fails, it reports its exit code,
// which becomes the command's (1 configuration, 3 runtime), so init scripts can trust it.
//
// Why a pipe of our own rather than handing the child the caller's stderr: the caller's may be a
// socket (systemd's journal), and a Bun process whose stderr was a socket dies at its next write
// once that fd is pointed at /dev/null; with a pipe it carries on. And the command never returns
// while the daemon still holds the caller's output open (`$(pmtr)` would hang).
//
// The child acquires the pidfile itself, so the pidfile names the process that supervises.

import { closeSync, fstatSync, openSync, readdirSync, writeSync } from "node:fs";
import { libc, O_CLOEXEC } from "../libc.ts";


/** The marker: its value is the fd of the verdict channel in the child. */
export const DAEMON_CHILD_VAR = "PMTR_DAEMON_CHILD";
const CHANNEL_FD = 3;
/** A child that neither reports nor exits by then is given up on and stopped, so a boot never
 *  hangs on it. */
export const READY_TIMEOUT_MS = 30_000;

/** The command line that runs this program again: the compiled binary alone, or, when run from
 *  source (`bun src/main.ts`, tests), the runtime and the script. */
export function selfCommand(): string[] {
  const script = process.argv[1];
  return script === undefined || script.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, script];
}

/** In the foreground command: starts the background pmtr with `args` and waits for its verdict.
 *  Returns the exit status for the command. */
export async function detach(args: readonly string[], opts: { command?: readonly string[]; timeoutMs?: number } = {}): Promise<number> {
  const [errRead, errWrite] = makePipe();
  const child = Bun.spawn([...(opts.command ?? selfCommand()), ...args], {
    stdio: ["ignore", "ignore", errWrite, "pipe"],
    detached: true,
    env: { ...process.env, [DAEMON_CHILD_VAR]: String(CHANNEL_FD) },
  });
  closeSync(errWrite);
  child.unref();
  const relayed = relay(errRead);
  const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS;
  let timer: Timer | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  const verdict = await Promise.race([readVerdict(child.stdio[3] as number), timedOut]);
  if (verdict === "timeout") {
    // Given up on: stopped (SIGTERM lets it stop any job it started), so that exit 3 means
    // "not running".
    child.kill("SIGTERM");
    process.stderr.write(`pmtr: the background pmtr [${child.pid}] did not report that it started within ${timeoutMs / 1000} s; stopped it (run with -F to watch it start)\n`);
    clearTimeout(timer);
    return 3;
  }
  // Everything it wrote before its verdict is printed before the command returns. The child
  // has closed its stderr by now (or exited); the deadline only guards against a descendant
  // that inherited it.
  await Promise.race([relayed, timedOut]);
  clearTimeout(timer);
  if (verdict !== null) return verdict;
  // The channel closed without a verdict: the child died (a crash, a signal) before it was ready.
  const status = await child.exited;
  process.stderr.write(`pmtr: the background pmtr [${child.pid}] exited (${child.signalCode ?? `status ${status}`}) before it had started\n`);
  return status === 0 ? 3 : status;
}

/** Copies the child's stderr to ours until end-of-file. */
async function relay(fd: number): Promise<void> {
  try {
    for await (const chunk of Bun.file(fd).stream()) process.stderr.write(chunk);
  } catch {
    // a read error only ends the copy
  }
  closeSync(fd);
}

/** The child's verdict on fd 3: "ready" is 0, "failed N" is N; null when it closed without one. */
async function readVerdict(fd: number): Promise<number | null> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of Bun.file(fd).stream()) {
    text += decoder.decode(chunk, { stream: true });
    const line = text.split("\n")[0]!;
    if (text.includes("\n")) return line === "ready" ? 0 : /^failed (\d+)$/.test(line) ? Number(line.slice(7)) : null;
  }
  return null;
}

/** pipe2(O_CLOEXEC) through libc, as [read, write]: Node has no pipe(), and Bun's own "pipe"
 *  stdio is a socket (see the header). Close-on-exec keeps both ends out of other children;
 *  Bun.spawn's dup2 onto the child's fd 2 clears it there. */
function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(fds, O_CLOEXEC) !== 0) throw new Error("pipe2 failed: too many open files?");
  return [fds[0]!, fds[1]!];
}

export interface DaemonChild {
  /** pmtr is running: stderr goes to /dev/null, then the command returns 0. Call once the
   *  pidfile is written and the jobs are being started; log to syslog only from then on. */
  reportReady(): void;
  /** pmtr could not start (its messages already written to stderr): the command exits with
   *  `code`. The caller then exits with the same code. */
  reportFailure(code: number): void;
}

/** In the background pmtr: its readiness channel; null when there is no marker (this process is
 *  the command, or runs with -F). Removes the marker from process.env, so jobs (started with an
 *  environment built from process.env) never see it: a job that is itself a pmtr must not
 *  mistake itself for a background one. (A Bun.spawn without `env` would still pass it: Bun's
 *  default is the environment the process started with.) A marker without a usable channel (set by hand) still means
 *  "do not detach": detaching again from here could only repeat itself without end. */
export function takeDaemonChild(): DaemonChild | null {
  const value = process.env[DAEMON_CHILD_VAR];
  if (value === undefined) return null;
  delete process.env[DAEMON_CHILD_VAR];
  if (value !== String(CHANNEL_FD) || !isChannel(CHANNEL_FD)) return { reportReady() {}, reportFailure() {} };
  let open = true;
  const send = (text: string) => {
    if (!open) return;
    open = false;
    try {
      writeSync(CHANNEL_FD, text);
    } catch {
      // The command was killed meanwhile: nobody is waiting for the verdict.
    }
    closeSync(CHANNEL_FD);
  };
  return {
    reportReady() {
      if (!open) return;
      stdioToDevNull();
      send("ready\n");
    },
    reportFailure(code) {
      send(`failed ${code}\n`);
    },
  };
}

/** Bun makes an extra "pipe" a socketpair; a plain pipe is accepted too. Anything else at fd 3
 *  (a marker set by hand) must not receive pmtr's report. */
function isChannel(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isSocket() || st.isFIFO();
  } catch {
    return false;
  }
}

/** Points fds 0, 1, 2 at /dev/null, and every other fd open on the same files: Bun keeps a
 *  duplicate of stderr once it has written to it (seen as fd 6), which would otherwise hold the
 *  relay open, and the command waiting, for the daemon's whole life. dup2 because Node has none,
 *  and closing and reopening would let the next file pmtr opens land on fd 2. */
function stdioToDevNull(): void {
  const callers = new Set([0, 1, 2].map(identity).filter((id) => id !== null));
  const devNull = openSync("/dev/null", "r+");
  for (const fd of openFds()) {
    if (fd === devNull || fd === CHANNEL_FD) continue;
    const id = identity(fd);
    if (fd <= 2 || (id !== null && callers.has(id))) libc().dup2(devNull, fd);
  }
  closeSync(devNull);
}

function identity(fd: number): string | null {
  try {
    const st = fstatSync(fd);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

function openFds(): number[] {
  return readdirSync("/proc/self/fd").map(Number).sort((a, b) => a - b);
}
