// `on exit` / `on fail` end to end (SPEC §14): dist/pmtr runs the hooks of real jobs with the
// job's user and the PMTR_ variables, one at a time per job (events meanwhile coalesced and
// counted), their output in pmtr's log, and a hook that cannot start never touching the job.
// The 30 s limit is unit-tested on a fake clock (test/unit/os/hooks.test.ts) and run on the real
// clock by the reliability suite (test/reliability/hook-limit.rel.ts): here it would add half a
// minute to every `make test`. Runs as root (`user nobody`), as .ci/run does.

import { afterEach, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { fileLines, join, readOr, rmSync, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(conf: (dir: string) => string): { dir: string; args: string[] } {
  const dir = tempDir("pmtr-hooks-");
  dirs.push(dir);
  // The hooks of `user nobody` jobs write here too.
  chmodSync(dir, 0o777);
  const path = writeConfig(dir, conf(dir));
  return { dir, args: ["-F", "-c", path, "-s", join(dir, "pmtr.sock")] };
}

/** Each complete record the hook wrote (ended by its "--" line; one being written is left
 *  out): its PMTR_ variables (and uid) as an object. */
function records(path: string): Array<Record<string, string>> {
  return readOr(path).split("--\n").slice(0, -1).map((r) =>
    Object.fromEntries(r.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])));
}
/** A hook that appends its uid and PMTR_ variables to FILE as one record. */
const recorder = (file: string) => `/bin/sh -c "{ echo UID=$(id -u); env | grep ^PMTR_ | sort; echo --; } >> ${file}; echo said by the hook"`;

test("on exit: after an exit and after a kill, as the job's user, with the PMTR_ variables; output in pmtr's log", async () => {
  const { dir, args } = setup((d) => [
    "job {", "  name crash", "  user nobody", `  cmd /bin/sh -c "sleep 0.3; exit 3"`, `  on exit ${recorder(join(d, "exit.rec"))}`, "}",
    "job {", "  name victim", `  cmd /bin/sleep 600`, `  on exit ${recorder(join(d, "victim.rec"))}`, "}",
  ].join("\n"));
  await withPmtr(args, {}, async (p) => {
    const [first] = await waitFor("crash's hook to run", () => (records(join(dir, "exit.rec")).length > 0 ? records(join(dir, "exit.rec")) : null), 10_000);
    expect(first!.UID).toBe("65534");
    expect(first!.PMTR_JOB).toBe("crash");
    expect(first!.PMTR_EVENT).toBe("exit");
    expect(first!.PMTR_EXIT_CODE).toBe("3");
    expect(first!.PMTR_EXIT_SIGNAL).toBeUndefined();
    expect(first!.PMTR_RESTARTS).toBe("0");
    expect(Number(first!.PMTR_RAN_MS)).toBeGreaterThanOrEqual(250);
    expect(Number(first!.PMTR_RAN_MS)).toBeLessThan(10_000);
    expect(first!.PMTR_COALESCED).toBe("0");
    await p.waitLog(/crash\.on-exit\[\d+\]: said by the hook/, 10_000);
    await p.waitLog(/running on exit hook of job crash \[\d+\]/);
    await p.waitLog(/on exit hook of job crash \[\d+\] ended: exit status 0/);

    const victim = Number(/started job victim \[(\d+)\]/.exec(p.stderr)![1]);
    process.kill(victim, "SIGKILL");
    const [killed] = await waitFor("victim's hook to run", () => (records(join(dir, "victim.rec")).length > 0 ? records(join(dir, "victim.rec")) : null), 10_000);
    expect(killed!.UID).toBe("0");
    expect(killed!.PMTR_JOB).toBe("victim");
    expect(killed!.PMTR_EXIT_SIGNAL).toBe("SIGKILL");
    expect(killed!.PMTR_EXIT_CODE).toBeUndefined();
  });
}, 30_000);

test("on fail: once the job gives up, with PMTR_EVENT=fail", async () => {
  const { dir, args } = setup((d) => [
    "job {", "  name flaky", `  cmd /bin/sh -c "exit 1"`, "  backoff 100ms..100ms", "  give up after 3 in 1m",
    `  on fail ${recorder(join(d, "fail.rec"))}`, "}",
  ].join("\n"));
  await withPmtr(args, {}, async (p) => {
    const [rec] = await waitFor("the fail hook to run", () => (records(join(dir, "fail.rec")).length > 0 ? records(join(dir, "fail.rec")) : null), 15_000);
    expect(rec!.PMTR_JOB).toBe("flaky");
    expect(rec!.PMTR_EVENT).toBe("fail");
    expect(rec!.PMTR_EXIT_CODE).toBe("1");
    expect(rec!.PMTR_RESTARTS).toBe("2");
    await p.waitLog(/on fail hook of job flaky \[\d+\] ended: exit status 0/, 10_000);
    // Once: the job is failed, not restarted, and the hook does not run again.
    expect(p.count(/running on fail hook of job flaky/)).toBe(1);
    expect(records(join(dir, "fail.rec")).length).toBe(1);
  });
}, 30_000);

test("one hook at a time per job: exits meanwhile are coalesced and counted", async () => {
  const { dir, args } = setup((d) => [
    "job {", "  name spin", `  cmd /bin/sh -c "sleep 0.05; exit 2"`, "  backoff 50ms..50ms",
    `  on exit /bin/sh -c "echo start $PMTR_COALESCED >> ${join(d, "runs")}; sleep 1; echo end >> ${join(d, "runs")}"`, "}",
  ].join("\n"));
  await withPmtr(args, {}, async (p) => {
    const runs = join(dir, "runs");
    await waitFor("three hook runs", () => fileLines(runs).filter((l) => l.startsWith("start")).length >= 3, 20_000);
    const lines = fileLines(runs);
    // Never two at once: every start is followed by its end before the next start.
    const starts = lines.filter((l) => l.startsWith("start"));
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.startsWith("start") && i + 1 < lines.length) expect(lines[i + 1]).toBe("end");
    }
    // The job exited many times during each 1 s hook run; the later runs stand for several exits.
    expect(starts.slice(1).some((l) => Number(l.split(" ")[1]) > 0)).toBe(true);
    const exits = p.count(/job spin \[\d+\] exited after/);
    expect(exits).toBeGreaterThan(starts.length);
  });
}, 40_000);

test("a hook that cannot start is logged, and the job goes on as before", async () => {
  const { args } = setup(() => [
    "job {", "  name steady", `  cmd /bin/sh -c "sleep 0.1; exit 4"`, "  backoff 100ms..100ms", "  on exit /nonexistent/hook --now", "}",
  ].join("\n"));
  await withPmtr(args, {}, async (p) => {
    await p.waitLog(/cannot run on exit hook of job steady: \S+: .*\(the job is not affected\)/, 10_000);
    // Restarted again and again regardless.
    await waitFor("three starts of steady", () => p.count(/started job steady \[/) >= 3, 10_000);
    expect(p.stderr).not.toContain("internal error");
  });
}, 30_000);
