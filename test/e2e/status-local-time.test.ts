// "stopped by pmtr stop at 14:02" (SPEC §10) is pmtr's local time, TZ included, read through
// libc's localtime_r (os/log/local-time.ts) rather than Date's (which loads ICU's time zones: ~2.6
// MB). A POSIX TZ string needs no tzdata: PMT-5:30 is UTC+5:30, never the machine's zone.

import { expect, test } from "bun:test";
import { join, rmSync, runPmtr, tempDir, withPmtr, writeConfig } from "../helpers.ts";

const TZ = "PMT-5:30";

function hhmm(epochMs: number): string {
  const d = new Date(epochMs + 5.5 * 3600_000);
  return `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

test.concurrent("the time a job was stopped is said in pmtr's TZ", async () => {
  const dir = tempDir("pmtr-local-time-");
  const conf = writeConfig(dir, `job {\n  name web\n  cmd /bin/sleep 600\n}\n`);
  const sock = join(dir, "pmtr.sock");
  try {
    await withPmtr(["-F", "-c", conf, "-s", sock], { env: { TZ } }, async (p) => {
      await p.waitLog("started job web");
      const before = Date.now();
      expect((await runPmtr(["-s", sock, "stop", "web"])).code).toBe(0);
      const after = Date.now();
      const { stdout } = await runPmtr(["-s", sock, "status", "--json", "web"]);
      const reason = JSON.parse(stdout).jobs[0].reason as string;
      // Either minute, if the stop straddled a minute's end.
      expect([`stopped by pmtr stop at ${hhmm(before)}`, `stopped by pmtr stop at ${hhmm(after)}`]).toContain(reason);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
