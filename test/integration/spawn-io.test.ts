// Fds pmtr passes to a start (`io`) and processes that are not jobs (spawnProcess): the child
// gets pmtr's pipe ends as its 0/1/2 instead of the paths, pmtr keeps its own copies, and a
// run's own onExit gets that run's exit, not the spawner's.

import { describe, expect, test } from "bun:test";
import { dlopen } from "bun:ffi";
import { closeSync, readFileSync, readSync, writeSync } from "node:fs";
import { makeJob } from "../../src/config/defaults.ts";
import type { ExitStatus } from "../../src/core/ports.ts";
import { libcPath } from "../../src/os/libc-path.ts";
import { createSpawner } from "../../src/os/spawn/index.ts";
import { waitFor } from "../helpers.ts";

const libc = dlopen(libcPath(), { pipe2: { args: ["ptr", "i32"], returns: "i32" } }).symbols;
const O_CLOEXEC = 0o2000000;

/** [read end, write end], close-on-exec as every fd pmtr holds. */
function pipe(): [number, number] {
  const fds = new Int32Array(2);
  expect(libc.pipe2(fds, O_CLOEXEC)).toBe(0);
  return [fds[0]!, fds[1]!];
}

/** Everything until EOF (every write end closed). */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(fd, buf);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  closeSync(fd);
  return Buffer.concat(chunks).toString("utf8");
}

const spawnerExits: Array<[number, ExitStatus]> = [];
const spawner = () => createSpawner({ onExit: (pid, status) => spawnerExits.push([pid, status]) });

describe("io: fds pmtr passes become the child's 0, 1, 2", () => {
  // With settings (cpu, nice, ulimit) and without: the same path, but other steps run.
  for (const [label, cpu] of [["no settings", null], ["cpu 0", [0]]] as const) {
    test(`stdin, stdout and stderr from pmtr's pipes; the paths are not opened (${label})`, async () => {
      const [inR, inW] = pipe();
      const [outR, outW] = pipe();
      const [errR, errW] = pipe();
      const script = 'read line; echo "got $line"; echo "to err" >&2; ls /proc/$$/fd | tr "\\n" " " >&2';
      const ownExit: ExitStatus[] = [];
      const outcome = await spawner().start(
        makeJob({ name: "io", argv: ["/bin/sh", "-c", script], in: "/nonexistent/in", out: "/nonexistent/out", err: "syslog", cpu }),
        { io: { stdin: inR, stdout: outW, stderr: errW }, onExit: (s) => ownExit.push(s) },
      );
      expect(outcome).toMatchObject({ ok: true });
      // pmtr still holds its ends: writing to its stdin copy works, and its copies are closed here.
      writeSync(inW, "hello\n");
      for (const fd of [inR, inW, outW, errW]) closeSync(fd);
      expect(readAll(outR)).toBe("got hello\n");
      const err = readAll(errR);
      expect(err.startsWith("to err\n")).toBe(true);
      // Only 0, 1, 2 (and the fd ls uses to read the directory).
      expect(err.slice("to err\n".length).trim().split(" ").slice(0, 3)).toEqual(["0", "1", "2"]);
      await waitFor("the run's own exit", () => ownExit.length === 1);
      expect(ownExit).toEqual([{ kind: "exited", code: 0 }]);
      if (outcome.ok) expect(spawnerExits.some(([pid]) => pid === outcome.pid)).toBe(false);
    });
  }
});

describe("spawnProcess: a probe or a hook, started like a job", () => {
  test("argv, env on top of pmtr's, dir, stdout to a pipe, its own exit status", async () => {
    const [outR, outW] = pipe();
    const statuses: ExitStatus[] = [];
    const outcome = await spawner().spawnProcess(["/bin/sh", "-c", 'echo "$PROBE_VAR $(pwd)"; exit 4'], {
      env: ["PROBE_VAR=set"], dir: "/tmp", io: { stdout: outW }, onExit: (s) => statuses.push(s),
    });
    closeSync(outW);
    expect(outcome).toMatchObject({ ok: true });
    expect(readAll(outR)).toBe("set /tmp\n");
    await waitFor("the probe's exit", () => statuses.length === 1);
    expect(statuses).toEqual([{ kind: "exited", code: 4 }]);
  });

  test("as another user", async () => {
    const [outR, outW] = pipe();
    const statuses: ExitStatus[] = [];
    const outcome = await spawner().spawnProcess(["/usr/bin/id", "-u"], { user: "nobody", io: { stdout: outW }, onExit: (s) => statuses.push(s) });
    closeSync(outW);
    expect(outcome).toMatchObject({ ok: true });
    expect(readAll(outR)).toBe("65534\n");
    await waitFor("its exit", () => statuses.length === 1);
    expect(statuses).toEqual([{ kind: "exited", code: 0 }]);
  });

  test("a failure names the step", async () => {
    expect(await spawner().spawnProcess(["/nonexistent/probe"])).toEqual({ ok: false, step: "exec", error: "execve /nonexistent/probe: No such file or directory" });
    expect(readFileSync("/proc/self/status", "utf8")).toContain("Pid:"); // pmtr is fine
  });
});
