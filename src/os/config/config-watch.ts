// Watching a configuration made of several files (SPEC §6, §15): the main file as before, and
// for each `include` pattern its directory — a matching file added, saved, renamed over or
// deleted there is a change (watch.ts's watchDirectory also follows each matching file, so an
// edit inside an included file is seen as an edit of the main file is). Every event only says
// "look again": the caller rereads everything and compares digests.

import { includeDir, includeNameFilter } from "./include-glob.ts";
import { watchDirectory, watchFile, type FileWatch } from "../watch/index.ts";

export interface ConfigWatch {
  /** Watch the directories of these `include` patterns (the main file's, as last read) and no others. */
  update(includes: readonly string[]): void;
  /** Resolve every watched path again (see FileWatch.refresh). */
  refresh(): void;
  close(): void;
}

export function watchConfig(mainPath: string, onChange: () => void, onError: (message: string) => void): ConfigWatch {
  const main = watchFile(mainPath, onChange, onError);
  const patterns = new Map<string, FileWatch>();
  return {
    update(includes) {
      const wanted = new Set(includes);
      for (const [pattern, watch] of patterns) {
        if (!wanted.has(pattern)) {
          watch.close();
          patterns.delete(pattern);
        }
      }
      for (const pattern of wanted) {
        if (!patterns.has(pattern)) patterns.set(pattern, watchDirectory(includeDir(pattern), includeNameFilter(pattern), onChange, onError));
      }
    },
    refresh() {
      main.refresh();
      for (const watch of patterns.values()) watch.refresh();
    },
    close() {
      main.close();
      for (const watch of patterns.values()) watch.close();
      patterns.clear();
    },
  };
}
