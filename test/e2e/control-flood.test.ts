// Fault 6 (second part) of issue 12: idle clients holding control connections must not
// exhaust pmtr's fds or make it spin. With a low fd limit, 40 connections that send nothing
// made pmtr spin at 97 % CPU (accept failing with EMFILE, the listening socket always ready)
// and stop answering. pmtr caps concurrent control connections, drops clients that send no
// request in time, and `pmtr status` answers meanwhile.

import { expect, test } from "bun:test";
import type { Socket } from "bun";
import { join, Pmtr, readOr, rmSync, runPmtr, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

/** CPU time (user + system) of `pid` so far, in ms. */
function cpuMs(pid: number): number {
  const f = readOr(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

const fdCount = (pid: number) => Bun.spawnSync(["ls", `/proc/${pid}/fd`]).stdout.toString().split("\n").filter(Boolean).length;

test("40 idle control connections under a low fd limit: no spin, status answers, idle ones dropped", async () => {
  const dir = tempDir("pmtr-control-flood-");
  const sock = join(dir, "pmtr.sock");
  const conf = writeConfig(dir, "job {\n  name steady\n  cmd /bin/sleep 600\n}\n");
  const held: Socket[] = [];
  const closed = new Set<Socket>();
  try {
    // The limit leaves room for pmtr's own fds and a few connections, not for 40.
    await withPmtr(["-F", "-c", conf, "-s", sock], { wrap: ["prlimit", "--nofile=40:40"] }, async (p: Pmtr) => {
      await p.waitLog(/started job steady/);
      console.log(`control-flood: pmtr uses ${fdCount(p.pid)} fds at rest, limit 40`);
      for (let i = 0; i < 40; i++) {
        held.push(await Bun.connect({ unix: sock, socket: { data() {}, close(s) { closed.add(s); }, error() {} } }));
      }
      const cpu0 = cpuMs(p.pid);
      const t0 = performance.now();
      const status = await runPmtr(["status", "-s", sock], { timeoutMs: 20_000 });
      expect(status.stdout).toContain("steady");
      await Bun.sleep(2000); // the window over which pmtr's CPU is measured
      const cpuPct = ((cpuMs(p.pid) - cpu0) / (performance.now() - t0)) * 100;
      console.log(`reliability: control-flood cpu_pct=${cpuPct.toFixed(1)} closed_at_once=${closed.size}`);
      // A busy loop would use the whole window; pmtr at rest uses close to nothing.
      expect(cpuPct).toBeLessThan(50);
      // Clients that never send a request are dropped in time.
      await waitFor("pmtr to drop every idle connection", () => closed.size === held.length, 30_000);
      expect((await runPmtr(["status", "-s", sock], { timeoutMs: 20_000 })).stdout).toContain("steady");
    });
  } finally {
    for (const s of held) s.end();
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
