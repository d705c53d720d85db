// SPEC §9 and issue 5 "Containers" end to end: dist/pmtr as PID 1 of a pid namespace (unshare
// --pid --fork --mount-proc, as a container entrypoint: no -F), as a child subreaper, and run
// by an unprivileged user.

import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync } from "node:fs";
import { childrenOf, descendants, FIXTURES, fileLines, isAlive, join, Pmtr, readOr, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const ORPHANS = join(FIXTURES, "supervise/orphans.sh");
const NOBODY = 65534;
const AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir("pmtr-sv-container-");
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Waits until the orphans.sh job has left all its orphans, one of them is seen as a child of
 * `reaper` (the kernel reparented it there), and then until none of them is left, not even as
 * a zombie: only `reaper` could have reaped them.
 */
async function expectOrphansReaped(reaper: number, dir: string, n: number): Promise<void> {
  const orphanPids = () => new Set(fileLines(join(dir, "orphans")).map(Number));
  await waitFor(`${n} orphans to start`, () => orphanPids().size === n);
  await waitFor(`an orphan reparented to ${reaper}`, () =>
    descendants(reaper).some((d) => orphanPids().has(d.nsPid) && childrenOf(reaper).includes(d.pid)));
  await waitFor(`orphans reaped (left: ${JSON.stringify(descendants(reaper))})`, () =>
    !descendants(reaper).some((d) => orphanPids().has(d.nsPid) || d.state === "Z"), 5000);
}

describe("as PID 1 of a pid namespace (a container)", () => {
  test.concurrent("stays in the foreground without -F, reaps orphans, and on SIGTERM stops its jobs and exits 0", () =>
    inTempDir(async (dir) => {
      const conf = writeConfig(dir, `
job {
  name orphans
  cmd ${ORPHANS} ${dir} 5 1
}
job {
  name polite
  cmd /bin/sh -c "trap 'echo terminated > ${dir}/polite.out; exit 0' TERM; echo up > ${dir}/polite.out; while :; do sleep 0.05; done"
}
`);
      // --kill-child: if the test fails before pmtr exits, pmtr (and its namespace) dies with unshare.
      const p = new Pmtr(["-c", conf, "-s", join(dir, "pmtr.sock")], { wrap: ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] });
      let pmtr = 0;
      try {
        pmtr = await waitFor("pmtr under unshare", () => childrenOf(p.pid)[0]);
        await p.waitLog(/^pmtr\[1\]: pmtr: managing 2 jobs$/m);
        expect(p.proc.exitCode).toBe(null); // did not detach: unshare still waits for it
        await expectOrphansReaped(pmtr, dir, 5);
        await waitFor("polite to be up", () => readOr(join(dir, "polite.out")) === "up\n");

        process.kill(pmtr, "SIGTERM");
        // `docker stop` sends SIGKILL 10 s after SIGTERM.
        const code = await Promise.race([p.proc.exited, Bun.sleep(10_000).then(() => "still running after 10 s")]);
        expect(code).toBe(0);
        expect(p.stderr).toMatch(/^pmtr\[1\]: pmtr: exiting on signal 15$/m);
        expect(p.stderr).toMatch(/^pmtr\[1\]: sending SIGTERM to job polite \[\d+\]$/m);
        // Stopped by pmtr, not by the kernel tearing the namespace down (SIGKILL runs no trap).
        expect(readOr(join(dir, "polite.out"))).toBe("terminated\n");
        expect(isAlive(pmtr)).toBe(false);
      } catch (e) {
        if (e instanceof Error) e.message += `\n--- pmtr log ---\n${p.stderr}`;
        throw e;
      } finally {
        if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
        await p.proc.exited;
      }
    }), 20_000);
});

describe("as a child subreaper (not PID 1)", () => {
  test.concurrent("orphans its jobs leave are reparented to pmtr and reaped", () =>
    inTempDir(async (dir) => {
      const conf = writeConfig(dir, `
job {
  name orphans
  cmd ${ORPHANS} ${dir} 5 1
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        await p.waitLog(/: started job orphans \[\d+\]$/m);
        await expectOrphansReaped(p.pid, dir, 5);
        expect(isAlive(startedPids(p.stderr, "orphans")[0]!)).toBe(true);
      });
    }));
});

describe("run by an unprivileged user (nobody)", () => {
  /** A directory nobody owns (for its socket and the jobs' files) holding a root-owned config. */
  function nobodyDir(dir: string): void {
    chownSync(dir, NOBODY, NOBODY);
    chmodSync(dir, 0o755);
  }

  test.concurrent("a job without `user` runs as nobody; a job with `user root` fails to start with one clear line; nothing crashes", () =>
    inTempDir(async (dir) => {
      nobodyDir(dir);
      const conf = writeConfig(dir, `
job {
  name plain
  cmd /bin/sh -c "id -u > ${dir}/plain.uid; exec sleep 600"
}
job {
  name asroot
  cmd /bin/sh -c "id -u > ${dir}/asroot.uid; exec sleep 600"
  user root
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], { wrap: AS_NOBODY }, async (p) => {
        await p.waitLog(/: job asroot failed to start: user: .*\broot\b.*$/m);
        await p.waitLog(/: job asroot restarting too fast, delaying restart$/m);
        await waitFor("plain's uid", () => readOr(join(dir, "plain.uid")) === `${NOBODY}\n`);
        const [plain] = startedPids(p.stderr, "plain");
        expect(isAlive(plain!)).toBe(true);
        expect(readOr(`/proc/${p.pid}/status`)).toMatch(/^Uid:\s+65534\s/m);
        expect(p.count(/: job asroot failed to start: /)).toBe(1);
        expect(startedPids(p.stderr, "asroot")).toEqual([]);
        expect(readOr(join(dir, "asroot.uid"))).toBe("");
        expect(p.stderr).not.toMatch(/^\s+at |TypeError|RangeError|Unhandled|panic/m);
        expect(isAlive(p.pid)).toBe(true);
        expect(await p.stop()).toBe(0);
        expect(isAlive(plain!)).toBe(false);
      });
    }));

  test.concurrent("a job with `user nobody` (pmtr's own user) runs", () =>
    inTempDir(async (dir) => {
      nobodyDir(dir);
      const conf = writeConfig(dir, `
job {
  name self
  cmd /bin/sh -c "id -u > ${dir}/self.uid; exec sleep 600"
  user nobody
}
`);
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], { wrap: AS_NOBODY }, async (p) => {
        await waitFor(`self's uid\n${p.stderr}`, () => readOr(join(dir, "self.uid")) === `${NOBODY}\n`);
        expect(p.stderr).not.toMatch(/failed to start/);
      });
    }));
});
