// `make dist`: one binary per architecture with SHA256SUMS, each printing the package's
// version; the arm64 one run on this x64 machine under qemu-user (Debian's qemu-user plus the
// arm64 libc6, libstdc++6 and libgcc-s1 from multiarch, installed by .ci/run): --version, -t,
// and a supervision smoke — two jobs started (one with nice and ulimit, applied by the spawn
// routine pmtr compiles for its own architecture), one killed and restarted, a clean stop. The
// jobs are this machine's own programs (/bin/sleep): qemu-user runs pmtr, the kernel the jobs.

import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { Pmtr, isAlive, join, procStat, readOr, rmSync, startedPids, tempDir, waitFor, writeConfig } from "../helpers.ts";
import { ARTIFACT, ROOT, VERSION, make, requireTool, run } from "./dist-lib.ts";

const QEMU_PACKAGES = "qemu-user, with libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 after dpkg --add-architecture arm64";
const SLOW_MS = 120_000;

beforeAll(() => {
  make("dist");
}, 600_000);

describe("make dist", () => {
  test("an x64 and an arm64 binary for glibc, named with the version, and their SHA256SUMS", () => {
    const sums = readFileSync(resolve(ROOT, "dist/SHA256SUMS"), "utf8");
    const expected = (["x64", "arm64"] as const).map((arch) => {
      const digest = createHash("sha256").update(readFileSync(ARTIFACT(arch))).digest("hex");
      return `${digest}  ${basename(ARTIFACT(arch))}`;
    });
    expect(sums.trimEnd().split("\n")).toEqual(expected);
    // The ELF header's machine field: 62 x86-64, 183 AArch64.
    const machine = (path: string) => readFileSync(path).readUInt16LE(18);
    expect(machine(ARTIFACT("x64"))).toBe(62);
    expect(machine(ARTIFACT("arm64"))).toBe(183);
  });

  test("the x64 binary prints the package's version", () => {
    const r = run([ARTIFACT("x64"), "--version"]);
    expect(r.stdout).toBe(`pmtr ${VERSION}\n`);
    expect(r.code).toBe(0);
  });
});

/** The job's nice value and soft open-files limit, as the kernel reports them. */
function expectContext(pid: number, nice: number, nofile: number | null): void {
  expect(procStat(pid)?.nice).toBe(nice);
  const limit = readOr(`/proc/${pid}/limits`).match(/^Max open files\s+(\d+)\s+(\d+)/m);
  if (nofile !== null) expect([Number(limit?.[1]), Number(limit?.[2])]).toEqual([nofile, nofile]);
}

describe("the arm64 binary under qemu-user", () => {
  const arm64 = (...args: string[]) => run([requireTool("qemu-aarch64", QEMU_PACKAGES), ARTIFACT("arm64"), ...args], { timeoutMs: SLOW_MS });

  test("--version", () => {
    const r = arm64("--version");
    expect(r.out).toBe(`pmtr ${VERSION}\n`);
    expect(r.code).toBe(0);
  }, SLOW_MS);

  test("-t accepts the example configuration and rejects a broken one", () => {
    const ok = arm64("-t", "-c", resolve(ROOT, "examples/pmtr.conf"));
    // Valid; -t may warn about this machine (the example's directories are made by its first job).
    expect(ok.out.split("\n").filter((l) => l !== "" && !l.includes(": warning: "))).toEqual([]);
    expect(ok.code).toBe(0);
    const dir = tempDir("pmtr-arm64-");
    try {
      const bad = writeConfig(dir, "job {\n  name x\n  cmd /bin/true\n  nice 99\n}\n");
      const r = arm64("-t", "-c", bad);
      expect(r.out).toContain("pmtr.conf:4: nice 99");
      expect(r.code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SLOW_MS);

  test("supervises: starts two jobs, restarts the one killed, stops cleanly", async () => {
    const qemu = requireTool("qemu-aarch64", QEMU_PACKAGES);
    const dir = tempDir("pmtr-arm64-");
    const sock = join(dir, "pmtr.sock");
    // Job a has a context for the spawn routine to apply (nice, an rlimit): under qemu that is
    // the arm64 code TinyCC compiles inside pmtr, with arm64 syscall numbers.
    const conf = writeConfig(dir, "job {\n  name a\n  cmd /bin/sleep 600\n  nice 5\n  ulimit -n 512\n}\njob {\n  name b\n  cmd /bin/sleep 601\n}\n");
    // Pmtr runs `wrap... dist/pmtr ARGS`; the shell drops dist/pmtr ($0) and execs the arm64
    // binary under qemu with the same arguments, so pmtr's pid is qemu's.
    const pmtr = new Pmtr(["-F", "-v", "-c", conf, "-s", sock], { wrap: ["sh", "-c", `exec "${qemu}" "${ARTIFACT("arm64")}" "$@"`] });
    const jobs: number[] = [];
    try {
      const log = await pmtr.waitLog(/started job b \[\d+\]/, SLOW_MS);
      await pmtr.waitLog(/started job a \[\d+\]/, SLOW_MS);
      const [a1] = startedPids(log + pmtr.stderr, "a");
      const [b1] = startedPids(pmtr.stderr, "b");
      jobs.push(a1!, b1!);
      expect(isAlive(a1!)).toBe(true);
      expect(isAlive(b1!)).toBe(true);
      expectContext(a1!, 5, 512);
      expectContext(b1!, 0, null);

      process.kill(a1!, "SIGKILL");
      // A job that ran under 10 s is restarted 10 s after its exit (SPEC §4).
      const a2 = await waitFor("job a restarted", () => startedPids(pmtr.stderr, "a")[1], SLOW_MS, 50);
      jobs.push(a2);
      expect(pmtr.stderr).toMatch(new RegExp(`job a \\[${a1}\\] exited after \\d+ sec: killed by SIGKILL`));
      expect(isAlive(a2)).toBe(true);
      expectContext(a2, 5, 512);
      expect(startedPids(pmtr.stderr, "b")).toEqual([b1!]);

      // The arm64 client talks to the arm64 pmtr over the control socket.
      const status = run([qemu, ARTIFACT("arm64"), "-s", sock, "status", "--json"], { timeoutMs: SLOW_MS });
      expect(status.code).toBe(0);
      const states = JSON.parse(status.stdout).jobs.map((j: { name: string; state: string; pid: number }) => `${j.name} ${j.state} ${j.pid}`);
      expect(states).toEqual([`a running ${a2}`, `b running ${b1}`]);

      expect(await pmtr.stop(SLOW_MS)).toBe(0);
      expect(pmtr.stderr).toContain("pmtr: exiting on signal 15");
      await waitFor("both jobs gone", () => !isAlive(a2) && !isAlive(b1!), SLOW_MS);
    } finally {
      await pmtr.stop(SLOW_MS);
      for (const pid of jobs) if (isAlive(pid)) process.kill(pid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 4 * SLOW_MS);

  test("captured output: a rotated job's lines all arrive, read by the reader thread pmtr compiles for arm64", async () => {
    const qemu = requireTool("qemu-aarch64", QEMU_PACKAGES);
    const dir = tempDir("pmtr-arm64-");
    // 20 000 numbered lines (108 894 bytes) into `rotate 1M`: one file, every line in order.
    const conf = writeConfig(dir, `job {\n  name w\n  cmd /bin/sh -c "seq 1 20000; exec sleep 600"\n  dir ${dir}\n  out w.log\n  rotate 1M keep 2\n}\n`);
    const pmtr = new Pmtr(["-F", "-v", "-c", conf, "-s", join(dir, "pmtr.sock")], { wrap: ["sh", "-c", `exec "${qemu}" "${ARTIFACT("arm64")}" "$@"`] });
    const expected = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join("");
    try {
      await pmtr.waitLog(/started job w \[\d+\]/, SLOW_MS);
      await waitFor("all 20000 lines in w.log", () => readOr(join(dir, "w.log")) === expected, SLOW_MS, 100);
      // Without the thread pmtr falls back to Bun's stream and says so (messages.ts).
      expect(pmtr.stderr).not.toContain("output reader thread");
      expect(await pmtr.stop(SLOW_MS)).toBe(0);
    } finally {
      await pmtr.stop(SLOW_MS);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 4 * SLOW_MS);
});
