// watchFile against the real filesystem: every way a file gets saved must produce a callback.
// Each case starts a watch, performs one save method, and waits (with a deadline) for a call.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, closeSync, copyFileSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { dependencies, watchDirectory, watchFile, type FileWatch } from "../../../src/os/watch/index.ts";
import { tempDir, waitFor } from "../../helpers.ts";

let dir: string;
const open: FileWatch[] = [];

beforeEach(() => {
  dir = tempDir("pmtr-watch-");
});
afterEach(() => {
  for (const w of open.splice(0)) w.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts watching `path`; `calls()` counts callbacks so far. */
function counting(path: string) {
  let n = 0;
  const errors: string[] = [];
  open.push(watchFile(path, () => n++, (m) => errors.push(m)));
  return { calls: () => n, errors };
}

async function expectCallAfter(path: string, save: () => void | Promise<void>): Promise<void> {
  const w = counting(path);
  await save();
  await waitFor(`a change callback for ${path}`, () => w.calls() > 0);
  expect(w.errors).toEqual([]);
}

function sh(script: string): void {
  const r = Bun.spawnSync(["/bin/sh", "-c", script], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`sh -c ${script} failed: ${r.stderr.toString()}`);
}

describe("watchFile sees every way of saving", () => {
  test("echo > (truncate and write in place)", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    await expectCallAfter(f, () => sh("echo b > pmtr.conf"));
  });

  test("echo >> (append)", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    await expectCallAfter(f, () => appendFileSync(f, "b\n"));
  });

  test("cp over the file", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    writeFileSync(join(dir, "other"), "b\n");
    await expectCallAfter(f, () => copyFileSync(join(dir, "other"), f));
  });

  test("replaced by rename (mv new file)", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    await expectCallAfter(f, () => {
      writeFileSync(join(dir, "pmtr.conf.new"), "b\n");
      renameSync(join(dir, "pmtr.conf.new"), f);
    });
  });

  test("sed -i, and a second save after it (the watch outlives the old inode)", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    const w = counting(f);
    sh("sed -i s/a/b/ pmtr.conf");
    await waitFor("a callback after sed -i", () => w.calls() > 0);
    const before = w.calls();
    sh("sed -i s/b/c/ pmtr.conf");
    await waitFor("a callback after the second sed -i", () => w.calls() > before);
  });

  test("vim-style save (write a backup, rename over)", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    await expectCallAfter(f, () => {
      renameSync(f, join(dir, "pmtr.conf~"));
      writeFileSync(f, "b\n");
      unlinkSync(join(dir, "pmtr.conf~"));
    });
  });

  test("deleted (the caller then finds it missing), then re-created", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    const w = counting(f);
    unlinkSync(f);
    await waitFor("a callback after delete", () => w.calls() > 0);
    const before = w.calls();
    writeFileSync(f, "b\n");
    await waitFor("a callback after re-creation", () => w.calls() > before);
  });

  test("a file that does not exist yet appears", async () => {
    const f = join(dir, "later.conf");
    await expectCallAfter(f, () => writeFileSync(f, "a\n"));
  });

  test("a directory that does not exist yet, then the file inside it", async () => {
    const f = join(dir, "etc", "pmtr", "pmtr.conf");
    const w = counting(f);
    mkdirSync(join(dir, "etc"));
    mkdirSync(join(dir, "etc", "pmtr"));
    writeFileSync(f, "a\n");
    await waitFor("a callback once the file exists", () => w.calls() > 0);
    // Now the watch must sit on the new directory: a later in-place write is seen too.
    await waitFor("the watch to move into etc/pmtr", () => dependencies(f).length === 1);
    const before = w.calls();
    appendFileSync(f, "b\n");
    await waitFor("a callback for the write inside the new directory", () => w.calls() > before);
  });

  test("its directory removed and re-created with the file", async () => {
    mkdirSync(join(dir, "etc"));
    const f = join(dir, "etc", "pmtr.conf");
    writeFileSync(f, "a\n");
    const w = counting(f);
    rmSync(join(dir, "etc"), { recursive: true });
    await waitFor("a callback after the directory went", () => w.calls() > 0);
    mkdirSync(join(dir, "etc"));
    writeFileSync(f, "b\n");
    const before = w.calls();
    await waitFor("a callback for the re-created file", () => w.calls() > before);
  });
});

describe("watchFile follows symlinks", () => {
  test("a symlink re-pointed (ln -sfn)", async () => {
    writeFileSync(join(dir, "v1.conf"), "a\n");
    writeFileSync(join(dir, "v2.conf"), "b\n");
    symlinkSync("v1.conf", join(dir, "pmtr.conf"));
    await expectCallAfter(join(dir, "pmtr.conf"), () => sh("ln -sfn v2.conf pmtr.conf"));
  });

  test("the target of a symlink written in place, in another directory", async () => {
    mkdirSync(join(dir, "real"));
    const target = join(dir, "real", "pmtr.conf");
    writeFileSync(target, "a\n");
    symlinkSync(target, join(dir, "pmtr.conf"));
    await expectCallAfter(join(dir, "pmtr.conf"), () => appendFileSync(target, "b\n"));
  });

  test("after re-pointing, the new target is watched and the old one is not", async () => {
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "a", "x"), "1\n");
    writeFileSync(join(dir, "b", "x"), "2\n");
    symlinkSync("a/x", join(dir, "pmtr.conf"));
    const w = counting(join(dir, "pmtr.conf"));
    sh("ln -sfn b/x pmtr.conf");
    await waitFor("a callback for the re-point", () => w.calls() > 0);
    expect(dependencies(join(dir, "pmtr.conf"))).toEqual([[dir, "pmtr.conf"], [join(dir, "b"), "x"]]);
    const before = w.calls();
    appendFileSync(join(dir, "b", "x"), "3\n");
    await waitFor("a callback for the new target", () => w.calls() > before);
  });

  test("refresh() after a callback follows a link removed and re-created in one breath", async () => {
    // inotify can hand over the removal and the re-creation as one event, read while the link
    // was missing; the caller's refresh() when it acts on the change resolves the path again.
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "a"), "1\n");
    symlinkSync("a", join(dir, "pmtr.conf"));
    let n = 0;
    const w = watchFile(join(dir, "pmtr.conf"), () => n++);
    open.push(w);
    writeFileSync(join(dir, "b", "x"), "2\n");
    unlinkSync(join(dir, "pmtr.conf"));
    symlinkSync(join(dir, "b", "x"), join(dir, "pmtr.conf"));
    await waitFor("a callback for the re-point", () => n > 0);
    w.refresh();
    const before = n;
    appendFileSync(join(dir, "b", "x"), "3\n");
    await waitFor("a callback for the new target", () => n > before);
  });

  test("a Kubernetes-style ConfigMap update (a directory symlink swapped by rename)", async () => {
    // pmtr.conf -> ..data/pmtr.conf, ..data -> ..v1; an update makes ..v2 and renames a new
    // ..data symlink over the old one.
    mkdirSync(join(dir, "..v1"));
    mkdirSync(join(dir, "..v2"));
    writeFileSync(join(dir, "..v1", "pmtr.conf"), "a\n");
    writeFileSync(join(dir, "..v2", "pmtr.conf"), "b\n");
    symlinkSync("..v1", join(dir, "..data"));
    symlinkSync("..data/pmtr.conf", join(dir, "pmtr.conf"));
    await expectCallAfter(join(dir, "pmtr.conf"), () => {
      symlinkSync("..v2", join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    });
  });
});

describe("watchFile sharing and closing", () => {
  test("many files in one directory each get their own callbacks", async () => {
    const names = Array.from({ length: 50 }, (_, i) => `dep${i}`);
    // All written before the first watch exists, so no creation event is pending.
    for (const n of names) writeFileSync(join(dir, n), "x");
    const counters = names.map((n) => counting(join(dir, n)));
    appendFileSync(join(dir, "dep7"), "y");
    await waitFor("dep7's callback", () => counters[7]!.calls() > 0);
    // Other names in the same directory were not told.
    expect(counters.filter((c) => c.calls() > 0).length).toBe(1);
  });

  test("two watches of one file both fire; closing one leaves the other", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    let first = 0;
    let second = 0;
    const w1 = watchFile(f, () => first++);
    open.push(watchFile(f, () => second++));
    w1.close();
    appendFileSync(f, "b\n");
    await waitFor("the remaining watch's callback", () => second > 0);
    expect(first).toBe(0);
  });

  test("a burst of writes in one turn fires once per delivered batch, not once per write", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    const w = counting(f);
    for (let i = 0; i < 100; i++) appendFileSync(f, `${i}\n`);
    await waitFor("a callback", () => w.calls() > 0);
    expect(w.calls()).toBeLessThan(100);
  });
});

describe("a file being written is reported once its writer closes it", () => {
  /** A writer in another process that truncates `path`, writes `first` and waits for its stdin
   *  to close before writing `rest`: the test decides when the write ends. */
  function slowWriter(path: string, first: string, rest: string) {
    const proc = Bun.spawn(["/bin/sh", "-c", 'exec > "$1"; printf %s "$2"; read -r _; printf %s "$3"', "sh", path, first, rest], { stdin: "pipe" });
    return { finish: async () => { proc.stdin.end(); await proc.exited; }, proc };
  }

  test("truncated and written slowly in place: one callback, after the close", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "old\n");
    const w = counting(f);
    const writer = slowWriter(f, "half", " and the rest\n");
    await waitFor("the writer to have written its first half", () => Bun.file(f).size === 4);
    await Bun.sleep(200); // settle: a callback for the half-written file would come by now
    expect(w.calls()).toBe(0);
    await writer.finish();
    await waitFor("a callback after the writer closed the file", () => w.calls() > 0);
  });

  test("created by a slow writer: reported after the close, not at the creation", async () => {
    const f = join(dir, "later.conf");
    const w = counting(f);
    const writer = slowWriter(f, "half", " and the rest\n");
    await waitFor("the writer to have written its first half", () => Bun.file(f).size === 4);
    await Bun.sleep(200); // settle
    expect(w.calls()).toBe(0);
    await writer.finish();
    await waitFor("a callback after the writer closed the file", () => w.calls() > 0);
  });

  test("writes to another file in the directory, held open, wake nobody", async () => {
    const f = join(dir, "pmtr.conf");
    writeFileSync(f, "a\n");
    const w = counting(f);
    const fd = openSync(join(dir, "job.log"), "w");
    try {
      for (let i = 0; i < 1000; i++) writeSync(fd, `line ${i}\n`);
      await Bun.sleep(200); // settle
      expect(w.calls()).toBe(0);
    } finally {
      closeSync(fd);
    }
  });
});

describe("watchDirectory", () => {
  function countingDir(path: string, filter = (n: string) => n.endsWith(".conf")) {
    let n = 0;
    const errors: string[] = [];
    open.push(watchDirectory(path, filter, () => n++, (m) => errors.push(m)));
    return { calls: () => n, errors };
  }

  test("a matching file appearing, saved, deleted: each reported; other names are not", async () => {
    const d = join(dir, "pmtr.d");
    mkdirSync(d);
    const w = countingDir(d);
    writeFileSync(join(d, "notes.txt"), "x");
    writeFileSync(join(d, "web.conf"), "a\n");
    await waitFor("a callback for web.conf appearing", () => w.calls() > 0);
    let before = w.calls();
    appendFileSync(join(d, "web.conf"), "b\n");
    await waitFor("a callback for web.conf saved", () => w.calls() > before);
    before = w.calls();
    unlinkSync(join(d, "web.conf"));
    await waitFor("a callback for web.conf deleted", () => w.calls() > before);
    before = w.calls();
    writeFileSync(join(d, "notes.txt"), "y");
    renameSync(join(d, "notes.txt"), join(d, "notes2.txt"));
    await Bun.sleep(200); // settle: other names must not call back
    expect(w.calls()).toBe(before);
    expect(w.errors).toEqual([]);
  });

  test("a file renamed into the directory under a matching name is reported", async () => {
    const d = join(dir, "pmtr.d");
    mkdirSync(d);
    const w = countingDir(d);
    writeFileSync(join(dir, "staged"), "a\n");
    renameSync(join(dir, "staged"), join(d, "db.conf"));
    await waitFor("a callback for db.conf", () => w.calls() > 0);
  });

  test("a directory that does not exist yet, then a file in it", async () => {
    const d = join(dir, "pmtr.d");
    const w = countingDir(d);
    mkdirSync(d);
    await waitFor("a callback for the directory appearing", () => w.calls() > 0);
    const before = w.calls();
    writeFileSync(join(d, "web.conf"), "a\n");
    await waitFor("a callback for web.conf", () => w.calls() > before);
  });
});

describe("dependencies", () => {
  test("a plain path is its directory and name", () => {
    expect(dependencies(join(dir, "f"))).toEqual([[dir, "f"]]);
  });
  test("a missing directory stops at the first missing name", () => {
    expect(dependencies(join(dir, "no", "such", "f"))).toEqual([[dir, "no"]]);
  });
  test("a symlink loop ends without hanging", () => {
    symlinkSync("loop", join(dir, "loop"));
    expect(dependencies(join(dir, "loop")).length).toBeGreaterThan(1);
  });
  test("a file where a directory should be is watched for being replaced", () => {
    writeFileSync(join(dir, "file"), "x");
    expect(dependencies(join(dir, "file", "f"))).toEqual([[dir, "file"]]);
  });
});
