// One file watch per `depends` path of the current jobs (SPEC §4): kept in step with the
// supervisor's list after each applied configuration; a settled change is passed on.

import type { LogLevel } from "../core/ports.ts";
import { watchFile, type FileWatch } from "../os/watch/index.ts";
import { settled } from "./settle-timer.ts";

export class DependsWatches {
  private readonly watches = new Map<string, FileWatch>();

  constructor(
    private readonly onChange: (path: string) => void,
    private readonly log: (level: LogLevel, message: string) => void,
  ) {}

  /** Watch exactly `paths`: new ones are added, the rest closed. */
  sync(paths: readonly string[]): void {
    const wanted = new Set(paths);
    for (const [path, watch] of this.watches) {
      if (!wanted.has(path)) {
        watch.close();
        this.watches.delete(path);
      }
    }
    for (const path of wanted) {
      if (this.watches.has(path)) continue;
      const changed = settled(() => {
        this.watches.get(path)?.refresh();
        this.onChange(path);
      });
      this.watches.set(path, watchFile(path, changed, (m) => this.log("warning", m)));
    }
  }

  close(): void {
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
  }
}
