// pmtr as root applies pmtr.conf's ownership rule to the other files it acts on (README
// "Ownership of the configuration file"): a `depends` file that anyone but root may change
// counts as missing (one line with the fix; the job waits and starts once it is fixed), and an
// `in` file that anyone but root may change fails the start of a root job at step `in`, on
// both start paths (direct and helper). These tests run as root, like the other e2e tests that
// start jobs as nobody.

import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { existsSync, isAlive, join, readOr, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir("pmtr-sec-files-");
  // Readable by the nobody job below; the files' own modes are what is under test.
  chmodSync(dir, 0o755);
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function stateOf(sock: string, name: string): Promise<string | undefined> {
  const { stdout } = await runPmtr(["-s", sock, "status", "--json", name]);
  return JSON.parse(stdout).jobs[0]?.state;
}

describe("depends files, as root", () => {
  test.concurrent("one writable by others or owned by another user is refused with the fix, the job waits; fixed, it starts; unsafe again, it stops and waits", () =>
    inTempDir(async (dir) => {
      const dep = join(dir, "guarded.conf");
      writeFileSync(dep, "v1\n", { mode: 0o646 });
      chmodSync(dep, 0o646);
      const sock = join(dir, "pmtr.sock");
      const conf = writeConfig(dir, `
job {
  name guarded
  cmd /bin/sleep 600
  depends {
    ${dep}
  }
}
job {
  name other
  cmd /bin/sleep 600
}
`);
      const why = "pmtr runs as root, and whoever may change it would restart the jobs that depend on it";
      const writable = `: ${dep}: refusing a depends file writable by others (mode 0646): ${why} (fix: chmod go-w ${dep})\n`;
      const waiting = `: job guarded is waiting for ${dep}, which pmtr refuses to use until it is fixed\n`;
      await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
        await p.waitLog(writable);
        await p.waitLog(waiting);
        await p.waitLog(/: started job other \[\d+\]$/m);
        expect(await stateOf(sock, "guarded")).toBe("waiting");

        // A change of content while it is refused: looked at again, still refused, not said again.
        writeFileSync(dep, "v2\n");
        await waitFor("pmtr to look at the file again", async () => (await stateOf(sock, "guarded")) === "waiting");
        chmodSync(dep, 0o644);
        await p.waitLog(/: started job guarded \[\d+\]$/m);
        const [first] = startedPids(p.stderr, "guarded");
        expect(p.stderr.split(writable).length - 1).toBe(1);
        expect(p.stderr.split(waiting).length - 1).toBe(1);

        // Handed to another user: counts as gone, as a deleted depends file does.
        chownSync(dep, 65534, 65534);
        await p.waitLog(`: ${dep}: refusing a depends file owned by uid 65534, not root: ${why} (fix: chown root ${dep})\n`);
        await waitFor(`guarded [${first}] stopped`, () => !isAlive(first!));
        await waitFor("guarded waiting again", async () => (await stateOf(sock, "guarded")) === "waiting");
        expect(startedPids(p.stderr, "guarded")).toEqual([first!]);

        chownSync(dep, 0, 0);
        await waitFor(`guarded started again\n${p.stderr}`, () => startedPids(p.stderr, "guarded").length === 2);
        expect(startedPids(p.stderr, "other")).toHaveLength(1);
      });
    }));

  test.concurrent("a FIFO is refused without blocking pmtr; a job with a safe depends file is unaffected", () =>
    inTempDir(async (dir) => {
      const fifo = join(dir, "pipe");
      expect(Bun.spawnSync(["mkfifo", "-m", "0600", fifo]).exitCode).toBe(0);
      const safe = join(dir, "safe.conf");
      writeFileSync(safe, "ok\n", { mode: 0o644 });
      const sock = join(dir, "pmtr.sock");
      const conf = writeConfig(dir, `
job {
  name piped
  cmd /bin/sleep 600
  depends {
    ${fifo}
  }
}
job {
  name fine
  cmd /bin/sleep 600
  depends {
    ${safe}
  }
}
`);
      await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
        await p.waitLog(`: ${fifo}: refusing a depends file that is a FIFO, not a regular file: pmtr compares a file's content (fix: list a regular file in depends)\n`);
        await p.waitLog(/: started job fine \[\d+\]$/m);
        // pmtr still answers: opening the FIFO did not block its one thread.
        expect(await stateOf(sock, "piped")).toBe("waiting");
      });
    }));
});

describe("`in` files of jobs that run as root", () => {
  test.concurrent("refused at step `in` when anyone but root may change them, on the direct and the helper path; a nobody job reads its own file", () =>
    inTempDir(async (dir) => {
      const input = (name: string, mode: number, uid = 0) => {
        const path = join(dir, `${name}.in`);
        writeFileSync(path, `input of ${name}\n`);
        chmodSync(path, mode);
        chownSync(path, uid, uid);
        return path;
      };
      const direct = input("direct", 0o646);
      const helper = input("helper", 0o644, 65534);
      const asRoot = input("asroot", 0o664);
      const mine = input("mine", 0o600, 65534);
      const sock = join(dir, "pmtr.sock");
      const got = join(dir, "got");
      mkdirSync(got, { mode: 0o777 });
      chmodSync(got, 0o777);
      // `cat` copies stdin to a file there (writable by the nobody job): it exists only if the job ran.
      const job = (name: string, extra: string) => `
job {
  name ${name}
  cmd /bin/sh -c "cat > ${got}/${name}; exec sleep 600"
  dir ${dir}
${extra}
}`;
      const conf = writeConfig(dir, [
        job("direct", "  in direct.in"),
        job("helper", `  in ${helper}\n  nice 3`),
        job("asroot", `  in ${asRoot}\n  user root`),
        job("mine", `  in ${mine}\n  user nobody`),
        job("plain", ""),
      ].join("\n"));
      const refused = (name: string, path: string, fault: string, fix: string) =>
        `: job ${name} failed to start: in: refusing ${path}, ${fault}: the job runs as root and would read it (fix: ${fix} ${path})\n`;
      await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
        await p.waitLog(refused("direct", direct, "writable by others (mode 0646)", "chmod go-w"));
        await p.waitLog(refused("helper", helper, "owned by uid 65534, not root", "chown root"));
        await p.waitLog(refused("asroot", asRoot, "writable by group (mode 0664)", "chmod go-w"));
        await waitFor("mine and plain to read their input", () => readOr(join(got, "mine")) === "input of mine\n" && existsSync(join(got, "plain")));
        for (const name of ["direct", "helper", "asroot"]) {
          expect(readOr(join(got, name), "never ran")).toBe("never ran");
          expect(await stateOf(sock, name)).toBe("backoff");
          await p.waitLog(`: job ${name} restarting too fast, delaying restart\n`);
        }

        // Fixed, and started now rather than after the 10 s delay: each reads its input.
        chmodSync(direct, 0o644);
        chownSync(helper, 0, 0);
        chmodSync(asRoot, 0o644);
        const { code, stdout } = await runPmtr(["-s", sock, "start", "direct", "helper", "asroot"], { timeoutMs: 20_000 });
        expect({ code, stdout }).toMatchObject({ code: 0 });
        for (const name of ["direct", "helper", "asroot"]) {
          await waitFor(`${name} to read its input`, () => readOr(join(got, name)) === `input of ${name}\n`);
          expect(p.count(new RegExp(`: job ${name} failed to start: `))).toBe(1);
        }
      });
    }));
});
