// pmtr compiles its spawn routine (src/os/spawn/spawn.c) at start with the TinyCC inside the
// binary, on hosts that have no C headers and no libc to link (a Pi, a slim image): here in a
// mount namespace where every include directory is an empty tmpfs, pmtr still starts a job
// with settings, and the job itself sees the empty /usr/include.

import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join, rmSync, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const HIDDEN = ["/usr/include", "/usr/local/include", "/usr/lib/gcc"].filter((d) => existsSync(d));

test("the spawn routine compiles with the system headers out of reach (unshare -m)", async () => {
  expect(Bun.which("unshare")).not.toBeNull(); // Debian package util-linux
  const dir = tempDir("pmtr-no-headers-");
  try {
    const out = join(dir, "seen");
    const conf = writeConfig(dir, `
job {
  name lister
  cmd /bin/sh -c "ls -A /usr/include | wc -l; echo started"
  out ${out}
  nice 1
  once
}
`);
    const hide = HIDDEN.map((d) => `mount -t tmpfs none ${d}`).join(" && ");
    await withPmtr(["-F", "-c", conf], { wrap: ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", `${hide} && exec "$0" "$@"`] }, async (p) => {
      await waitFor("the job's output", () => existsSync(out) && readFileSync(out, "utf8").includes("started"), 15_000);
      expect(readFileSync(out, "utf8")).toBe("0\nstarted\n");
      expect(p.stderr).not.toMatch(/cannot build pmtr's spawn routine/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
