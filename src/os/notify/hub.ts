// The notify sockets of every `ready notify` job (SPEC §12), and the one poll that reads them.
// A job's socket lives as long as the job is configured, so a restarted job gets the same
// NOTIFY_SOCKET. Datagrams are polled fast (FAST_POLL_MS) only while some job is waiting for
// READY=1 — that is the ready latency — and slowly otherwise, for STATUS= updates; with no
// notify job there is no timer at all.

import { mkdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { parseNotify } from "./message.ts";
import { openNotifySocket, type NotifySocket } from "./socket.ts";

export const FAST_POLL_MS = 2;
export const SLOW_POLL_MS = 1000;
/** Datagrams read per socket per poll: a job that floods its socket cannot starve pmtr. */
const MAX_PER_POLL = 32;

export interface NotifyEvents {
  ready(name: string): void;
  status(name: string, text: string): void;
  stopping(name: string): void;
}

export class NotifyHub {
  private readonly sockets = new Map<string, NotifySocket>();
  private readonly expecting = new Set<string>();
  /** READY=1 that came before the supervisor saw the run start (a fast daemon): kept until
   *  expect() for that run, dropped by reset() before the next. */
  private readonly earlyReady = new Set<string>();
  private timer: Timer | null = null;
  private timerFast = false;
  private next = 0;

  /** `dir`: a directory pmtr owns (made 0711 so job users can reach their socket in it
   *  without listing the others). */
  constructor(
    private readonly dir: string,
    private readonly events: NotifyEvents,
    private readonly warn: (message: string) => void,
  ) {}

  /** The NOTIFY_SOCKET path for `name`, creating its socket for `owner` if needed; an error
   *  message when it cannot be made (the start then fails with it). */
  socketFor(name: string, owner: { uid: number; gid: number }): { ok: true; path: string } | { ok: false; message: string } {
    const existing = this.sockets.get(name);
    if (existing) return { ok: true, path: existing.path };
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    } catch (e) {
      return { ok: false, message: `notify socket directory ${this.dir}: ${(e as Error).message}` };
    }
    // Short numbered names keep the path inside sun_path's 108 bytes whatever the job's name.
    const opened = openNotifySocket(join(this.dir, `${++this.next}.sock`), owner, unlinkSync);
    if (!opened.ok) return opened;
    this.sockets.set(name, opened.socket);
    this.schedule();
    return { ok: true, path: opened.socket.path };
  }

  /** A new run of `name` is about to be spawned: what the previous run sent is discarded. */
  reset(name: string): void {
    this.sockets.get(name)?.drain(Number.MAX_SAFE_INTEGER);
    this.earlyReady.delete(name);
    this.expecting.delete(name);
  }

  /** The run of `name` has started: READY=1 (already received, or from now on) makes it ready. */
  expect(name: string): void {
    this.poll();
    if (this.earlyReady.delete(name)) {
      this.events.ready(name);
      return;
    }
    this.expecting.add(name);
    this.schedule();
  }

  /** The run ended or became ready by other means: stop waiting for READY=1. */
  settle(name: string): void {
    this.expecting.delete(name);
    this.schedule();
  }

  /** The job is gone from the configuration: its socket goes too. */
  release(name: string): void {
    this.expecting.delete(name);
    this.earlyReady.delete(name);
    this.sockets.get(name)?.close();
    this.sockets.delete(name);
    this.schedule();
  }

  close(): void {
    for (const name of [...this.sockets.keys()]) this.release(name);
  }

  private schedule(): void {
    const fast = this.expecting.size > 0;
    if (this.sockets.size === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    if (this.timer && this.timerFast === fast) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerFast = fast;
    this.timer = setTimeout(() => this.poll(), fast ? FAST_POLL_MS : SLOW_POLL_MS);
  }

  private poll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const [name, socket] of this.sockets) {
      for (const got of socket.drain(MAX_PER_POLL)) {
        if (got.text === null) {
          this.warn(`job ${name} sent a notify datagram over 4096 bytes; ignored`);
          continue;
        }
        const m = parseNotify(got.text);
        if (m.status !== null) this.events.status(name, m.status);
        if (m.ready && this.expecting.delete(name)) this.events.ready(name);
        else if (m.ready) this.earlyReady.add(name);
        if (m.stopping) this.events.stopping(name);
      }
    }
    this.schedule();
  }
}
