// Tells the caller that a file may have been saved, for every way a file gets saved: written in
// place (`echo >`, `>>`, `cp`), replaced by rename (vim, `sed -i`, `mv new file`, Ansible),
// deleted and re-created, a symlink re-pointed, a symlink's target changed (at any hop, and
// through directory symlinks such as Kubernetes' `..data`).
//
// Why directories: `fs.watch` on the file itself follows the inode, so it goes silent for good
// the moment the file is replaced by rename. Instead each watched path is resolved hop by hop
// into the (real directory, name) pairs its content depends on — every symlink on the way and
// the final file — and each such directory is watched (inotify: no polling, no wakeups while
// nothing changes), events filtered by name. After any relevant event the path is resolved
// again, so a re-pointed symlink or a new directory moves the watches along.
//
// A path whose directory does not exist yet is fine: the deepest existing directory is watched
// for the missing name, and the watches move down as directories appear. A watched directory
// that is removed is noticed (its inode changes) and the watch falls back to its parent.
//
// Coalescing: events are collected and the callback runs once on the next microtask, so the
// first save of a quiet period costs no added latency and a batch of events delivered together
// (an editor's write + rename + chmod) fires once. The callback only says "look again": the
// caller compares content digests, so `touch`/`chmod` with identical content change nothing.
//
// Cheap for many files (`depends`): one inotify watcher per directory, shared by every path.

import { lstatSync, readlinkSync, statSync, watch, type FSWatcher } from "node:fs";
import { dirname, join, resolve } from "node:path";

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
  closed: boolean;
  /** Consecutive re-resolutions because a directory vanished while being watched; bounded so
   *  a directory that flickers cannot keep the microtask queue busy forever. */
  retries: number;
}

interface DirWatch {
  readonly watcher: FSWatcher;
  /** Identity of the watched directory: inotify stays on this inode even when the path moves. */
  readonly ino: number;
  readonly byName: Map<string, Set<Subscription>>;
}

const dirs = new Map<string, DirWatch>();
const pendingSubs = new Set<Subscription>();
const pendingDirs = new Set<string>();
let flushQueued = false;

/** Symlink hops followed before giving up, as the kernel's ELOOP limit. */
const MAX_HOPS = 40;
const MAX_RETRIES = 3;

/** Calls `onChange` (coalesced, see above) whenever the content at `path` may have changed.
 *  `onError` gets one line when a directory cannot be watched (permissions, inotify limits). */
export function watchFile(path: string, onChange: () => void, onError: (message: string) => void = () => {}): FileWatch {
  const sub: Subscription = { path: resolve(path), onChange, onError, keys: new Set(), closed: false, retries: 0 };
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

/** Moves `sub` onto exactly the directory watches `deps` need, opening and closing shared ones. */
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
}

function openDir(dir: string, sub: Subscription): DirWatch | null {
  let dw: DirWatch;
  try {
    const ino = statSync(dir).ino;
    const watcher = watch(dir, (_event, name) => onEvent(dir, name === null ? null : String(name)));
    // An error after start (the directory unmounted) is handled like the directory vanishing.
    watcher.on("error", () => dropDir(dir));
    dw = { watcher, ino, byName: new Map() };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === "ENOENT" || code === "ENOTDIR") && sub.retries++ < MAX_RETRIES) {
      // It vanished between resolving and watching: resolve again on the next turn.
      pendingSubs.add(sub);
      queueFlush();
    } else {
      sub.onError(`cannot watch directory ${dir} for changes to ${sub.path}: ${(e as Error).message}${code === "ENOSPC" ? " (raise the sysctl fs.inotify.max_user_watches)" : ""}`);
    }
    return null;
  }
  dirs.set(dir, dw);
  return dw;
}

function closeDir(dir: string): void {
  dirs.get(dir)?.watcher.close();
  dirs.delete(dir);
}

function onEvent(dir: string, name: string | null): void {
  const dw = dirs.get(dir);
  if (!dw) return;
  const subs = name === null ? [...dw.byName.values()].flatMap((s) => [...s]) : [...(dw.byName.get(name) ?? [])];
  for (const sub of subs) pendingSubs.add(sub);
  // Any event may be the directory itself being removed or renamed (inotify reports that with
  // the directory's own name): checked once per batch, in flush.
  pendingDirs.add(dir);
  queueFlush();
}

/** Closes the watch on `dir`; its subscribers resolve again, reopening what they still need. */
function dropDir(dir: string): void {
  const dw = dirs.get(dir);
  if (!dw) return;
  for (const set of dw.byName.values()) for (const sub of set) pendingSubs.add(sub);
  closeDir(dir);
  queueFlush();
}

function queueFlush(): void {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(flush);
}

function flush(): void {
  flushQueued = false;
  for (const dir of pendingDirs) {
    const dw = dirs.get(dir);
    // The watched inode is gone: every subscriber resolves again (to the parent, or the new
    // directory of the same name).
    if (dw && !sameInode(dir, dw.ino)) dropDir(dir);
  }
  pendingDirs.clear();
  const subs = [...pendingSubs];
  pendingSubs.clear();
  for (const sub of subs) {
    if (sub.closed) continue;
    subscribe(sub, dependencies(sub.path));
    if (!pendingSubs.has(sub)) sub.retries = 0;
    sub.onChange();
  }
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function sameInode(dir: string, ino: number): boolean {
  try {
    return statSync(dir).ino === ino;
  } catch {
    return false;
  }
}
