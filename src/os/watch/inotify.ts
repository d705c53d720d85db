// inotify(7) through FFI, for src/os/watch/index.ts: the kernel filters events by kind for each
// watched inode, so a file being written flat out in a watched directory costs pmtr nothing
// (node's fs.watch on a directory asks for every kind, IN_MODIFY included: one wake-up per
// write to any file beside pmtr.conf). And IN_CLOSE_WRITE, which fs.watch does not report,
// is what says that a writer has finished with a file.
//
// One inotify fd per process, opened IN_NONBLOCK and read through Bun.file(fd).stream(): Bun
// polls it on the event loop (no thread, no wake-up while nothing happens; a blocking fd fails
// there with ESPIPE). It is closed when the last watch is removed, so nothing is left holding
// the loop open.
//
// inotify returns the same watch descriptor for every watch of one inode, and a watch's mask
// is per inode: listeners of one inode share it, the kernel mask is the union of theirs (grown
// with IN_MASK_ADD, never narrowed while shared: each listener filters by its own mask), and
// the inode's watch is removed with its last listener.

import { closeQuietly } from "../files.ts";
import { errnoText, lastErrno, libc } from "../libc.ts";

/** Event bits, from <sys/inotify.h>. */
export const IN = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ONLYDIR: 0x1000000,
  DONT_FOLLOW: 0x2000000,
  MASK_ADD: 0x20000000,
  ISDIR: 0x40000000,
} as const;

const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
/** Bits that are flags for inotify_add_watch, not events to deliver. */
const FLAG_BITS = IN.ONLYDIR | IN.DONT_FOLLOW | IN.MASK_ADD;
/** Always delivered, whatever the mask: the watch is gone or events were lost. */
const ALWAYS = IN.IGNORED | IN.UNMOUNT | IN.Q_OVERFLOW;

/** Gets each event matching its mask; `name` is the entry's name for a directory's events,
 *  null for the inode's own. IN_IGNORED means the watch is gone (the inode deleted, its file
 *  system unmounted): the handle is dead and need not be removed. */
export type InotifyListener = (mask: number, name: string | null) => void;

export interface InotifyWatch {
  /** inotify's watch descriptor: equal for two watches exactly when they watch one inode. */
  readonly wd: number;
  remove(): void;
}

export type AddResult = { readonly ok: true; readonly watch: InotifyWatch } | { readonly ok: false; readonly code: string; readonly message: string };

interface Entry {
  readonly listeners: Map<object, { mask: number; listener: InotifyListener }>;
}

interface Instance {
  readonly fd: number;
  readonly byWd: Map<number, Entry>;
  readonly reader: ReturnType<typeof readerOf>;
}

let current: Instance | null = null;

const ERRNO_CODES: Record<number, string> = { 2: "ENOENT", 13: "EACCES", 20: "ENOTDIR", 24: "EMFILE", 28: "ENOSPC", 40: "ELOOP" };

/** Watches the inode at `path` (followed if a symlink, unless `mask` has IN.DONT_FOLLOW). */
export function addWatch(path: string, mask: number, listener: InotifyListener): AddResult {
  const opened = current !== null ? ({ ok: true, instance: current } as const) : open();
  if (!opened.ok) return opened;
  const { instance } = opened;
  const wd = libc().inotify_add_watch(instance.fd, Buffer.from(`${path}\0`), (mask | IN.MASK_ADD) >>> 0);
  if (wd < 0) {
    const failure = lastError();
    if (instance.byWd.size === 0) shut(instance);
    return { ok: false, ...failure };
  }
  let entry = instance.byWd.get(wd);
  if (!entry) instance.byWd.set(wd, (entry = { listeners: new Map() }));
  const key = {};
  entry.listeners.set(key, { mask: (mask & ~FLAG_BITS) | ALWAYS, listener });
  return {
    ok: true,
    watch: {
      wd,
      remove() {
        const e = instance.byWd.get(wd);
        if (e !== entry || !e.listeners.delete(key)) return;
        if (e.listeners.size > 0) return;
        instance.byWd.delete(wd);
        libc().inotify_rm_watch(instance.fd, wd);
        if (instance.byWd.size === 0) shut(instance);
      },
    },
  };
}

const readerOf = (fd: number) => Bun.file(fd).stream().getReader();

function open(): { ok: true; instance: Instance } | { ok: false; code: string; message: string } {
  const fd = libc().inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return { ok: false, ...lastError() };
  const instance: Instance = { fd, byWd: new Map(), reader: readerOf(fd) };
  current = instance;
  void pump(instance);
  return { ok: true, instance };
}

/** Stop reading and close the fd; a later addWatch opens a new one. */
function shut(instance: Instance): void {
  if (current === instance) current = null;
  instance.byWd.clear();
  instance.reader.cancel().then(
    () => closeQuietly(instance.fd),
    () => closeQuietly(instance.fd),
  );
}

async function pump(instance: Instance): Promise<void> {
  let rest: Uint8Array = new Uint8Array(0);
  for (;;) {
    let chunk: Awaited<ReturnType<Instance["reader"]["read"]>>;
    try {
      chunk = await instance.reader.read();
    } catch {
      return;
    }
    if (chunk.done) return;
    const bytes = rest.length === 0 ? chunk.value : concat(rest, chunk.value);
    rest = dispatch(instance, bytes);
  }
}

/** Delivers every whole `struct inotify_event` in `bytes`; returns the incomplete tail (the
 *  kernel never splits an event, but a stream is not obliged to keep read boundaries). */
function dispatch(instance: Instance, bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + 16 <= bytes.length) {
    const len = view.getUint32(offset + 12, true);
    if (offset + 16 + len > bytes.length) break;
    const wd = view.getInt32(offset, true);
    const mask = view.getUint32(offset + 4, true);
    let name: string | null = null;
    if (len > 0) {
      const raw = bytes.subarray(offset + 16, offset + 16 + len);
      const nul = raw.indexOf(0);
      name = Buffer.from(raw.subarray(0, nul < 0 ? raw.length : nul)).toString("utf8");
    }
    offset += 16 + len;
    deliver(instance, wd, mask, name);
  }
  return bytes.slice(offset);
}

function deliver(instance: Instance, wd: number, mask: number, name: string | null): void {
  // Queue overflow (wd -1): events were lost, everyone looks again.
  const entries = wd === -1 ? [...instance.byWd.values()] : [instance.byWd.get(wd)].filter((e) => e !== undefined);
  if ((mask & IN.IGNORED) !== 0) instance.byWd.delete(wd);
  for (const entry of entries) {
    for (const { mask: wanted, listener } of [...entry.listeners.values()]) {
      if ((mask & wanted) !== 0) listener(mask, name);
    }
  }
  if ((mask & IN.IGNORED) !== 0 && instance.byWd.size === 0 && current === instance) shut(instance);
}

function lastError(): { code: string; message: string } {
  const errno = lastErrno();
  return { code: ERRNO_CODES[errno] ?? `errno ${errno}`, message: errnoText(errno) };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

