// signalGroup/groupAlive against a real process group whose leader exits and leaves a child.
// The orphaned child is reparented to this machine's init, whose reaping may lag (about 1 s
// here) and groupAlive counts a zombie until it is reaped: hence the longer deadlines.

import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { groupAlive, signalGroup } from "../../../src/os/proc/process-group.ts";
import { isAlive, tempDir, waitFor } from "../../helpers.ts";

const dir = tempDir("pmtr-pgroup-");
const toKill: number[] = [];
afterAll(() => {
  for (const pid of toKill) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A group leader (own session, as every job) that starts a background child and exits. */
async function groupWithOrphan(trapTerm = false): Promise<{ pgid: number; child: number }> {
  const file = join(dir, `child-${Date.now()}-${Math.random()}`);
  const trap = trapTerm ? "trap '' TERM; " : "";
  const leader = Bun.spawn(["/bin/sh", "-c", `${trap}/bin/sleep 60 & echo $! > ${file}`], { detached: true, stdio: ["ignore", "ignore", "ignore"] });
  await leader.exited;
  const child = await waitFor("the child's pid", () => Number(readFileSync(file, "utf8").trim()));
  toKill.push(child);
  return { pgid: leader.pid, child };
}

describe("process groups", () => {
  test("a group is alive while a member is, after its leader exited; SIGTERM ends it", async () => {
    const { pgid, child } = await groupWithOrphan();
    expect(groupAlive(pgid)).toBe(true);
    signalGroup(pgid, "SIGTERM");
    await waitFor("the child to die", () => !isAlive(child));
    await waitFor("the group to be gone", () => !groupAlive(pgid), 15000);
  });

  test("SIGKILL ends a member that ignores SIGTERM", async () => {
    const { pgid, child } = await groupWithOrphan(true);
    signalGroup(pgid, "SIGTERM");
    expect(isAlive(child)).toBe(true);
    signalGroup(pgid, "SIGKILL");
    await waitFor("the group to be gone", () => !groupAlive(pgid), 15000);
  });

  test("SIGTERM reaches a stopped member: the group is continued, so it ends on SIGTERM, not at SIGKILL", async () => {
    const leader = Bun.spawn(["/bin/sh", "-c", "kill -STOP $$; exec /bin/sleep 60"], { detached: true, stdio: ["ignore", "ignore", "ignore"] });
    toKill.push(leader.pid);
    await waitFor("the leader stopped", () => readFileSync(`/proc/${leader.pid}/stat`, "utf8").split(") ")[1]?.startsWith("T"));
    signalGroup(leader.pid, "SIGTERM");
    await leader.exited;
    expect(leader.signalCode).toBe("SIGTERM");
  });

  test("signalling a group that is gone is not an error", async () => {
    const p = Bun.spawn(["/bin/true"], { detached: true });
    await p.exited;
    expect(groupAlive(p.pid)).toBe(false);
    expect(() => signalGroup(p.pid, "SIGTERM")).not.toThrow();
  });

  test.each([0, 1, -5, 1.5])("refuses pgid %p, which would signal far more than a job", (pgid) => {
    expect(() => signalGroup(pgid, "SIGTERM")).toThrow(RangeError);
    expect(() => groupAlive(pgid)).toThrow(RangeError);
  });
});
