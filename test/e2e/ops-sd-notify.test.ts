// systemd readiness (issue 5) end to end: dist/pmtr -F with NOTIFY_SOCKET naming a real datagram
// socket, as under `Type=notify`. Every datagram lands in one socket queue, so the order the
// receiver records is the order they were sent; where READY must come after something a job
// did, the job writes its own datagram to the same socket and the order is read from there.

import { describe, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { childrenOf, join, readOr, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";
import { DgramReceiver } from "../unit/os/dgram-receiver.ts";

/** A temp dir and a receiver bound in it (or at `address`), both gone after `fn`. */
async function withSystemd<T>(fn: (dir: string, systemd: DgramReceiver) => Promise<T>, address?: string): Promise<T> {
  const dir = tempDir("pmtr-ops-notify-");
  const systemd = await DgramReceiver.start(address ?? join(dir, "notify.sock"));
  try {
    return await fn(dir, systemd);
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- datagrams ---\n${systemd.records.map((r) => JSON.stringify(r)).join("\n")}`;
    throw e;
  } finally {
    await systemd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits for the first datagram at index >= `from` that has the line `line`; returns its index. */
async function nextWith(systemd: DgramReceiver, line: string, from = 0, timeoutMs = 5000): Promise<number> {
  const index = await waitFor(`a datagram with ${line} (from #${from})`, () => {
    const i = systemd.records.findIndex((r, k) => k >= from && r.split("\n").includes(line));
    return i < 0 ? null : i + 1; // + 1: index 0 is a found datagram too
  }, timeoutMs);
  return index - 1;
}

/** The datagrams that carry `line`. */
const countWith = (records: readonly string[], line: string) => records.filter((r) => r.split("\n").includes(line)).length;

/** The NAME=VALUE environment a job wrote with `env`. */
const envFile = (path: string) => Object.fromEntries(readOr(path).split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

/** CLOCK_MONOTONIC now, in microseconds (Bun's hrtime counts from its own start instead). */
function monotonicUsec(): bigint {
  const out = Bun.spawnSync(["python3", "-c", "import time; print(time.monotonic_ns() // 1000)"]);
  return BigInt(out.stdout.toString().trim());
}

const pmtrArgs = (dir: string, conf: string) => ["-F", "-c", conf, "-s", join(dir, "pmtr.sock")];

describe("systemd readiness (NOTIFY_SOCKET)", () => {
  test.concurrent("READY=1 with STATUS once the initial jobs run, after the wait job exited; jobs inherit none of NOTIFY_SOCKET, WATCHDOG_*", () =>
    withSystemd(async (dir, systemd) => {
      // `gate` holds `later` and `niced` back for 0.5 s, then says so on the notify socket itself:
      // a READY sent before the gate exited would be queued ahead of that datagram.
      const conf = writeConfig(dir, `
job {
  name gate
  cmd /bin/sh -c "sleep 0.5; logger -d -u ${systemd.address} gate-exiting"
  wait
  once
}
job {
  name later
  cmd /bin/sh -c "env > ${dir}/later.env; exec sleep 600"
}
job {
  name niced
  nice 1
  cmd /bin/sh -c "env > ${dir}/niced.env; exec sleep 600"
}
`);
      const env = { NOTIFY_SOCKET: systemd.address, WATCHDOG_USEC: "60000000", WATCHDOG_PID: "", PMTR_E2E_INHERITED: "yes" };
      await withPmtr(pmtrArgs(dir, conf), { env }, async (p) => {
        // Taken as soon as READY is seen: which processes pmtr had started by then.
        const ready = await waitFor("READY=1", () => {
          const i = systemd.records.findIndex((r) => r.split("\n").includes("READY=1"));
          return i < 0 ? null : { index: i, children: childrenOf(p.pid) };
        });
        const gateSaid = systemd.records.findIndex((r) => r.endsWith("gate-exiting"));
        expect(gateSaid).toBeGreaterThanOrEqual(0);
        expect(gateSaid).toBeLessThan(ready.index);

        await p.waitLog(/started job niced \[\d+\]/);
        const log = await p.waitLog(/pmtr: managing 3 jobs$/m);
        expect(log.indexOf("job gate [")).toBeLessThan(log.indexOf("started job later"));
        for (const name of ["later", "niced"]) expect(ready.children).toContain(startedPids(log, name)[0]!);

        // READY and its summary in one datagram, sent once.
        expect(systemd.records[ready.index]!.split("\n")).toEqual(["READY=1", "STATUS=2 jobs running", ""]);
        expect(countWith(systemd.records, "READY=1")).toBe(1);

        for (const name of ["later", "niced"]) {
          const jobEnv = await waitFor(`${name}.env written`, () => (readOr(join(dir, `${name}.env`)).includes("PMTR_E2E_INHERITED") ? envFile(join(dir, `${name}.env`)) : null));
          expect(jobEnv.PMTR_E2E_INHERITED).toBe("yes");
          for (const variable of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) expect(Object.keys(jobEnv)).not.toContain(variable);
        }
      });
    }), 15000);

  test.concurrent("each applied reload (saved change, SIGHUP): RELOADING=1 with MONOTONIC_USEC, then READY=1; a broken save: neither; SIGTERM: STOPPING=1", () =>
    withSystemd(async (dir, systemd) => {
      const first = "job {\n  name first\n  cmd /bin/sleep 600\n}\n";
      const conf = writeConfig(dir, first);
      // Saved as editors do (write a copy, rename it over): one content change per save.
      const save = (text: string) => {
        writeFileSync(join(dir, "pmtr.conf.new"), text);
        renameSync(join(dir, "pmtr.conf.new"), conf);
      };
      await withPmtr(pmtrArgs(dir, conf), { env: { NOTIFY_SOCKET: systemd.address } }, async (p) => {
        const ready = await nextWith(systemd, "READY=1");
        expect(systemd.records[ready]).toContain("STATUS=1 job running\n");
        await p.waitLog("pmtr: managing 1 job");

        // A saved change that adds a job.
        const before = monotonicUsec();
        save(`${first}job {\n  name second\n  cmd /bin/sleep 600\n}\n`);
        const reloading = await nextWith(systemd, "RELOADING=1", ready + 1);
        const after = monotonicUsec();
        // CLOCK_MONOTONIC at the reload, the clock systemd matches it against.
        const usec = BigInt(systemd.records[reloading]!.match(/^MONOTONIC_USEC=(\d+)$/m)?.[1] ?? -1);
        expect(usec).toBeGreaterThanOrEqual(before);
        expect(usec).toBeLessThanOrEqual(after);
        const reloaded = await nextWith(systemd, "READY=1", reloading + 1);
        await p.waitLog(/started job second \[\d+\]/);
        await nextWith(systemd, "STATUS=2 jobs running", reloading + 1);

        // A broken save changes nothing and announces nothing; repairing it (dropping `second`) does.
        save(`${first}job {\n  name third\n  bogus 1\n}\n`);
        await p.waitLog("keeping the previous configuration");
        save(first);
        await p.waitLog("stopping job second: removed from the configuration");
        const repaired = await nextWith(systemd, "READY=1", reloaded + 1);
        await nextWith(systemd, "STATUS=1 job running", repaired);

        // SIGHUP forces a rescan of the unchanged file: announced the same way.
        p.proc.kill("SIGHUP");
        await nextWith(systemd, "READY=1", repaired + 1);

        expect(await p.stop()).toBe(0);
        await nextWith(systemd, "STOPPING=1");
        // One job with the default 10 s stop timeout: systemd is told the stop may take 11 s.
        await nextWith(systemd, "EXTEND_TIMEOUT_USEC=11000000");
        expect(p.stderr).toContain("pmtr: exiting on signal 15");
      });
      // The whole conversation, in order: READY, then one RELOADING/READY pair per applied reload
      // (the added job, the repair, SIGHUP), then STOPPING.
      const states = systemd.records.flatMap((r) => r.split("\n").filter((l) => /^(READY|RELOADING|STOPPING)=1$/.test(l)));
      expect(states).toEqual(["READY=1", "RELOADING=1", "READY=1", "RELOADING=1", "READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]);
    }), 15000);

  test.concurrent("WATCHDOG_USEC: WATCHDOG=1 again and again while pmtr runs, on an abstract socket", () => {
    const address = `@pmtr-e2e-notify-${process.pid}-${Date.now()}`;
    return withSystemd(async (dir, systemd) => {
      const conf = writeConfig(dir, "job {\n  name idle\n  cmd /bin/sleep 600\n}\n");
      await withPmtr(pmtrArgs(dir, conf), { env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: "200000" } }, async (p) => {
        const ready = await nextWith(systemd, "READY=1");
        let at = ready;
        for (let ping = 0; ping < 5; ping++) at = await nextWith(systemd, "WATCHDOG=1", at + 1, 3000);
        expect(await p.stop()).toBe(0);
        expect(systemd.records.every((r) => r === "WATCHDOG=1\n" || !r.includes("WATCHDOG"))).toBe(true);
      });
    }, address);
  }, 15000);

  test.concurrent("WATCHDOG_PID naming another process: no pings; pmtr runs and stops as usual", () =>
    withSystemd(async (dir, systemd) => {
      const conf = writeConfig(dir, "job {\n  name idle\n  cmd /bin/sleep 600\n}\n");
      // A 10 ms interval: had pmtr armed the watchdog, pings would pile up while it runs.
      await withPmtr(pmtrArgs(dir, conf), { env: { NOTIFY_SOCKET: systemd.address, WATCHDOG_USEC: "20000", WATCHDOG_PID: "1" } }, async (p) => {
        await nextWith(systemd, "READY=1");
        await p.waitLog(/started job idle \[\d+\]/);
        await Bun.sleep(300); // not waiting for something: giving a wrongly armed watchdog time to show
        expect(await p.stop()).toBe(0);
        await nextWith(systemd, "STOPPING=1");
        expect(countWith(systemd.records, "WATCHDOG=1")).toBe(0);
      });
    }), 15000);

  test.concurrent("a NOTIFY_SOCKET that is not an address: one warning, and pmtr supervises as usual", () =>
    withSystemd(async (dir) => {
      const conf = writeConfig(dir, "job {\n  name idle\n  cmd /bin/sleep 600\n}\n");
      await withPmtr(pmtrArgs(dir, conf), { env: { NOTIFY_SOCKET: "relative/notify" } }, async (p) => {
        await p.waitLog(/started job idle \[\d+\]/);
        await p.waitLog("pmtr: managing 1 job");
        expect(p.count(/NOTIFY_SOCKET="relative\/notify" is not a socket path or @abstract name; not notifying systemd$/)).toBe(1);
        expect(await p.stop()).toBe(0);
      });
    }), 15000);
});
