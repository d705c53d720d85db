// Tells the caller that a file may have been saved, for every way a file gets saved: written in
// place (`echo >`, `>>`, `cp`), replaced by rename (vim, `sed -i`, `mv new file`, Ansible),
// deleted and re-created, a symlink re-pointed, a symlink's target changed (at any hop, and
// through directory symlinks such as Kubernetes' `..data`).
//
// Why directories: a watch on the file itself follows the inode, so it goes silent for good
// the moment the file is replaced by rename. Instead each watched path is resolved hop by hop
// into the (real directory, name) pairs its content depends on — every symlink on the way and
// the final file — and each such directory is watched for its entries being created, renamed
// or deleted, events filtered by name. After any relevant event the path is resolved again, so
// a re-pointed symlink or a new directory moves the watches along.
//
// Why the file too, and only for some events: the final file's own inode is watched for
// IN_CLOSE_WRITE and IN_ATTRIB, never IN_MODIFY, and its directory only for entries coming
// and going (inotify filters by kind in the kernel; src/os/watch/inotify.ts). So writes to
// other files in the directory (a job's log beside pmtr.conf) cost nothing, and a file being
// rewritten in place (`generate > pmtr.conf`, truncated first, written slowly) is reported
// once its writer closes it, never half-written. A file that appears (IN_CREATE, at the
// writer's open) or any other event is reported at once unless someone still holds the file
// open for writing (src/os/watch/open-for-write.ts): then its IN_CLOSE_WRITE is awaited.
// Renames and deletions are reported at once.
//
// A path whose directory does not exist yet is fine: the deepest existing directory is watched
// for the missing name, and the watches move down as directories appear. A watched directory
// that is removed or renamed reports it (IN_DELETE_SELF, IN_MOVE_SELF) and the watch falls
// back to its parent.
//
// Coalescing: events are collected and the callback runs once on the next microtask, so the
// first save of a quiet period costs no added latency and a batch of events delivered together
// (an editor's write + rename + chmod) fires once. The callback only says "look again": the
// caller compares content digests, so `touch`/`chmod` with identical content change nothing.
//
// Cheap for many files (`depends`): one inotify watch per directory, shared by every path, and
// one per watched file.

import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { addWatch, IN, type InotifyWatch } from "./inotify.ts";
import { isOpenForWriting } from "./open-for-write.ts";

export interface FileWatch {
  /** Resolve the path again now. Call it when acting on a change: a symlink removed and
   *  re-created in one breath can reach us as one event, seen while the link was missing,
   *  and the watch would otherwise stay on the old resolution. */
  refresh(): void;
  close(): void;
}

interface Subscription {
  readonly path: string;
  readonly onChange: () => void;
  readonly onError: (message: string) => void;
  /** "dir\0name" keys this subscription is registered under. */
  keys: Set<string>;
  /** The watch on the final file's own inode (writes closed, attributes), when it exists. */
  file: InotifyWatch | null;
  closed: boolean;
  /** Consecutive re-resolutions because a directory vanished while being watched; bounded so
   *  a directory that flickers cannot keep the microtask queue busy forever. */
  retries: number;
  /** Looks again, since the last event, because the file seemed still open for writing. */
  writerRechecks: number;
}

interface DirWatch {
  readonly watch: InotifyWatch;
  readonly byName: Map<string, Set<Subscription>>;
}

/** What a directory is watched for: its entries coming and going, and itself going. */
const DIR_EVENTS = IN.CREATE | IN.MOVED_TO | IN.DELETE | IN.MOVED_FROM | IN.DELETE_SELF | IN.MOVE_SELF | IN.ONLYDIR | IN.DONT_FOLLOW;
/** What a watched file is watched for: a writer closing it, chmod/touch/link count, itself going.
 *  Not IN_MODIFY: a write in progress is not a save. */
const FILE_EVENTS = IN.CLOSE_WRITE | IN.ATTRIB | IN.DELETE_SELF | IN.MOVE_SELF | IN.DONT_FOLLOW;

const dirs = new Map<string, DirWatch>();
const pendingSubs = new Set<Subscription>();
let flushQueued = false;

/** Symlink hops followed before giving up, as the kernel's ELOOP limit. */
const MAX_HOPS = 40;
const MAX_RETRIES = 3;

/** Calls `onChange` (coalesced, see above) whenever the content at `path` may have changed.
 *  `onError` gets one line when a directory cannot be watched (permissions, inotify limits). */
export function watchFile(path: string, onChange: () => void, onError: (message: string) => void = () => {}): FileWatch {
  const sub: Subscription = { path: resolve(path), onChange, onError, keys: new Set(), file: null, closed: false, retries: 0, writerRechecks: 0 };
  subscribe(sub, dependencies(sub.path));
  return {
    refresh() {
      if (!sub.closed) subscribe(sub, dependencies(sub.path));
    },
    close() {
      if (sub.closed) return;
      sub.closed = true;
      subscribe(sub, []);
      pendingSubs.delete(sub);
    },
  };
}

/** Calls `onChange` (coalesced) when an entry whose name passes `nameFilter` appears in `dir`,
 *  disappears, or has its content saved (each such entry is watched as watchFile does, so a
 *  file being written is reported once its writer closes it). For `include DIR/*.conf`. The
 *  directory may be missing at first, or replaced later; it is followed like a watched file. */
export function watchDirectory(dir: string, nameFilter: (name: string) => boolean, onChange: () => void, onError: (message: string) => void = () => {}): FileWatch {
  const path = resolve(dir);
  const entries = new Map<string, FileWatch>();
  let entriesWatch: InotifyWatch | null = null;
  let watchedDir: string | null = null;
  let closed = false;
  let queued = false;
  const changed = () => {
    if (closed || queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      if (closed) return;
      sync();
      onChange();
    });
  };
  /** Follows the directory's current resolution and the set of matching entries in it. */
  const sync = () => {
    const real = realDirectory(path);
    if (real !== watchedDir) {
      entriesWatch?.remove();
      entriesWatch = null;
      watchedDir = real;
      if (real !== null) {
        // Only names not watched yet: a watched entry's own watchFile reports its saves,
        // renames and deletion. A new one is reported at once unless still being written
        // (then its watchFile reports the writer's close).
        const added = addWatch(real, IN.CREATE | IN.MOVED_TO | IN.ONLYDIR, (_mask, name) => {
          if (name === null) return changed(); // events were lost
          if (!nameFilter(name) || entries.has(name)) return;
          sync();
          if (isOpenForWriting(join(real, name)) !== true) changed();
        });
        if (added.ok) entriesWatch = added.watch;
        else onError(`cannot watch directory ${real} for changes: ${added.message}${hint(added.code)}`);
      }
    }
    const names = new Set(real === null ? [] : listNames(real).filter(nameFilter));
    for (const [name, w] of entries) {
      if (!names.has(name)) {
        w.close();
        entries.delete(name);
      }
    }
    for (const name of names) if (!entries.has(name)) entries.set(name, watchFile(join(path, name), changed, onError));
  };
  const self = watchFile(path, changed, onError);
  sync();
  return {
    refresh() {
      if (closed) return;
      self.refresh();
      sync();
      for (const w of entries.values()) w.refresh();
    },
    close() {
      if (closed) return;
      closed = true;
      self.close();
      entriesWatch?.remove();
      for (const w of entries.values()) w.close();
      entries.clear();
    },
  };
}

/** The (real directory, name) pairs whose change can change what `path` reads as: each symlink
 *  met while resolving it, and the final name (or the first missing one). */
export function dependencies(path: string): Array<[dir: string, name: string]> {
  const deps: Array<[string, string]> = [];
  let dir = "/";
  const todo = path.split("/").filter((c) => c !== "" && c !== ".");
  for (let hops = 0; todo.length > 0; ) {
    const name = todo.shift()!;
    if (name === "..") {
      dir = dirname(dir);
      continue;
    }
    const full = join(dir, name);
    let isLink: boolean;
    let isDir: boolean;
    try {
      const st = lstatSync(full);
      [isLink, isDir] = [st.isSymbolicLink(), st.isDirectory()];
    } catch {
      deps.push([dir, name]); // missing (or unreadable): watch for it to appear
      return deps;
    }
    if (isLink && hops++ < MAX_HOPS) {
      deps.push([dir, name]);
      const target = readLink(full);
      if (target === null) return deps; // replaced meanwhile: the event for it is on its way
      if (target.startsWith("/")) dir = "/";
      todo.unshift(...target.split("/").filter((c) => c !== "" && c !== "."));
    } else if (todo.length === 0 || !isDir) {
      // The final name, or a file (or a symlink loop) where a directory should be: watched
      // for being replaced.
      deps.push([dir, name]);
      return deps;
    } else {
      dir = full;
    }
  }
  return deps;
}

/** Moves `sub` onto exactly the directory watches `deps` need, opening and closing shared
 *  ones, and its file watch onto the inode now at the final name. */
function subscribe(sub: Subscription, deps: Array<[string, string]>): void {
  const wanted = new Set(deps.map(([d, n]) => `${d}\0${n}`));
  for (const key of sub.keys) {
    if (wanted.has(key)) continue;
    const [dir, name] = key.split("\0") as [string, string];
    const dw = dirs.get(dir);
    const set = dw?.byName.get(name);
    set?.delete(sub);
    if (set?.size === 0) dw!.byName.delete(name);
    if (dw?.byName.size === 0) closeDir(dir);
  }
  const kept = new Set<string>();
  for (const key of wanted) {
    const [dir, name] = key.split("\0") as [string, string];
    const dw = dirs.get(dir) ?? openDir(dir, sub);
    if (dw === null) continue;
    let set = dw.byName.get(name);
    if (!set) dw.byName.set(name, (set = new Set()));
    set.add(sub);
    kept.add(key);
  }
  sub.keys = kept;
  watchFinal(sub, deps.at(-1));
}

/** Puts the file watch on the inode at the final name (the new one, after a replace). The new
 *  watch is taken before the old one is let go, so an unchanged inode keeps its watch. */
function watchFinal(sub: Subscription, last: [string, string] | undefined): void {
  const old = sub.file;
  sub.file = null;
  // Not on a directory (watchDirectory's own path): sharing the directory's inotify watch, the
  // file events would be asked for every file in it.
  if (last !== undefined && !isDirectory(join(...last))) {
    // Only the inode's own events (name null): the watch may be shared with a directory watch.
    const added = addWatch(join(...last), FILE_EVENTS, (_mask, name) => name === null && markPending(sub));
    if (added.ok) sub.file = added.watch;
    // Missing or not readable: its directory's watch reports it appearing or being replaced.
    else if (added.code === "ENOSPC") sub.onError(`cannot watch ${join(...last)} for changes to ${sub.path}: ${added.message}${hint(added.code)}`);
  }
  old?.remove();
}

function openDir(dir: string, sub: Subscription): DirWatch | null {
  const byName = new Map<string, Set<Subscription>>();
  const added = addWatch(dir, DIR_EVENTS, (mask, name) => onDirEvent(dir, mask, name));
  if (!added.ok) {
    if ((added.code === "ENOENT" || added.code === "ENOTDIR") && sub.retries++ < MAX_RETRIES) {
      // It vanished between resolving and watching: resolve again on the next turn.
      markPending(sub);
    } else {
      sub.onError(`cannot watch directory ${dir} for changes to ${sub.path}: ${added.message}${hint(added.code)}`);
    }
    return null;
  }
  const dw = { watch: added.watch, byName };
  dirs.set(dir, dw);
  return dw;
}

function hint(code: string): string {
  return code === "ENOSPC" ? " (raise the sysctl fs.inotify.max_user_watches)" : "";
}

function closeDir(dir: string): void {
  dirs.get(dir)?.watch.remove();
  dirs.delete(dir);
}

function onDirEvent(dir: string, mask: number, name: string | null): void {
  const dw = dirs.get(dir);
  if (!dw) return;
  if ((mask & (IN.DELETE_SELF | IN.MOVE_SELF | IN.IGNORED | IN.UNMOUNT)) !== 0) {
    // The directory itself went: every subscriber resolves again (to the parent, or the new
    // directory of the same name).
    dropDir(dir);
    return;
  }
  const subs = name === null ? [...dw.byName.values()].flatMap((s) => [...s]) : [...(dw.byName.get(name) ?? [])];
  for (const sub of subs) markPending(sub);
}

/** Closes the watch on `dir`; its subscribers resolve again, reopening what they still need. */
function dropDir(dir: string): void {
  const dw = dirs.get(dir);
  if (!dw) return;
  for (const set of dw.byName.values()) for (const sub of set) markPending(sub);
  closeDir(dir);
}

/** The kernel sends IN_CLOSE_WRITE before it drops the closing writer's write access, so for
 *  a moment the writer that just closed still counts as holding the file: a file that seems
 *  open for writing is looked at again after WRITER_RECHECK_MS, a few times. A writer that
 *  really keeps it open sends its own IN_CLOSE_WRITE later. */
const WRITER_RECHECK_MS = 10;
const MAX_WRITER_RECHECKS = 5;

/** An event for `sub`: look again on the next microtask. */
function markPending(sub: Subscription): void {
  sub.writerRechecks = 0;
  queuePending(sub);
}

function queuePending(sub: Subscription): void {
  pendingSubs.add(sub);
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(flush);
}

function flush(): void {
  flushQueued = false;
  const subs = [...pendingSubs];
  pendingSubs.clear();
  for (const sub of subs) {
    if (sub.closed) continue;
    const deps = dependencies(sub.path);
    subscribe(sub, deps);
    if (!pendingSubs.has(sub)) sub.retries = 0;
    // Someone is still writing it: its IN_CLOSE_WRITE (the file watch is in place now) says
    // when it is complete.
    const last = deps.at(-1);
    if (last !== undefined && sub.file !== null && isOpenForWriting(join(...last)) === true) {
      if (sub.writerRechecks++ < MAX_WRITER_RECHECKS) {
        const timer = setTimeout(() => !sub.closed && queuePending(sub), WRITER_RECHECK_MS);
        (timer as { unref?: () => void }).unref?.();
      }
      continue;
    }
    sub.onChange();
  }
}

function realDirectory(path: string): string | null {
  const last = dependencies(path).at(-1);
  if (last === undefined) return "/";
  return isDirectory(join(...last)) ? join(...last) : null;
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}
