// What a job running as another user can do to pmtr and to pmtr's other jobs: nothing. A job as
// `user nobody` (test/fixtures/security/intruder.sh) tries to signal pmtr, read its environment,
// open its memory (the kernel's ptrace attach check), list its fds, attach to it with strace,
// kill another job's process group and use the control socket; every attempt must fail, and
// pmtr and the other job must carry on untouched. The same probe as a root job succeeds at the
// harmless attempts, which shows the probe itself works.
//
// Supplementary groups: pmtr started with groups of its own (setpriv --groups) gives a job with
// `user` exactly that user's groups (initgroups), never pmtr's. Only fds 0-2, umask 022 and the
// nobody job's uid/gid are covered by supervise-context.test.ts and not repeated here.

import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { existsSync, FIXTURES, forAnyUser, isAlive, join, PMTR as BUILT_PMTR, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const INTRUDER = forAnyUser(join(FIXTURES, "security/intruder.sh"));
/** The client the intruder runs, as its user (nobody) can reach it. */
const PMTR = forAnyUser(BUILT_PMTR);
const hasStrace = Bun.spawnSync(["sh", "-c", "command -v strace"]).exitCode === 0;

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir("pmtr-sec-jobs-");
  // Traversable by nobody: the socket's own mode, not its directory, must keep it out.
  chmodSync(dir, 0o755);
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function reportDir(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  return dir;
}

/** attempts file -> { NAME: "ok" | "denied: MESSAGE" } */
function attempts(report: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(report, "attempts"), "utf8").split("\n").filter(Boolean).map((line) => {
      const space = line.indexOf(" ");
      return [line.slice(0, space), line.slice(space + 1)];
    }),
  );
}

function creds(report: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(report, "creds"), "utf8").split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
  );
}

/** `id -G USER`, sorted: the groups initgroups gives that user. */
function groupsOf(user: string): string {
  const out = Bun.spawnSync(["id", "-G", user]).stdout.toString().trim();
  return out.split(/\s+/).map(Number).sort((a, b) => a - b).join(" ");
}
const sortedGroups = (line: string | undefined) => (line ?? "").split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b).join(" ");

describe("a job running as another user cannot touch pmtr or its other jobs", () => {
  test.concurrent("as nobody: kill, /proc environ, mem and fd, strace, another job's group, the control socket: all refused; pmtr and the job untouched", () =>
    inTempDir(async (dir) => {
      const sock = join(dir, "pmtr.sock");
      const intruder = reportDir(dir, "intruder");
      const control = reportDir(dir, "control");
      const conf = writeConfig(dir, `
job {
  name victim
  cmd /bin/sleep 600
}
job {
  name intruder
  cmd ${INTRUDER} ${intruder} ${PMTR} ${sock} all
  user nobody
  once
}
job {
  name control
  cmd ${INTRUDER} ${control} ${PMTR} ${sock} harmless
  once
}
`);
      await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
        await p.waitLog(/: started job victim \[\d+\]$/m);
        await p.waitLog(/: started job intruder \[\d+\]$/m);
        await p.waitLog(/: started job control \[\d+\]$/m);
        const [victim] = startedPids(p.stderr, "victim");
        for (const report of [intruder, control]) writeFileSync(join(report, "victim"), `${victim}\n`);
        await waitFor("both probes done", () => existsSync(join(intruder, "done")) && existsSync(join(control, "done")), 15_000);

        // The probes aimed at the right process: pmtr is their parent.
        expect(readFileSync(join(intruder, "ppid"), "utf8").trim()).toBe(String(p.pid));
        expect(readFileSync(join(control, "ppid"), "utf8").trim()).toBe(String(p.pid));

        const tried = attempts(intruder);
        expect(tried).toEqual({
          "kill-0": expect.stringMatching(/^denied: .*Operation not permitted/),
          environ: expect.stringMatching(/^denied: .*Permission denied/),
          mem: expect.stringMatching(/^denied: .*Permission denied/),
          "fd-list": expect.stringMatching(/^denied: .*Permission denied/),
          "term-pmtr": expect.stringMatching(/^denied: .*Operation not permitted/),
          "kill-victim-group": expect.stringMatching(/^denied: .*Operation not permitted/),
          ...(hasStrace ? { ptrace: expect.stringMatching(/^denied: .*Operation not permitted/) } : {}),
          "control-stop": `denied: pmtr: permission denied on ${sock}: only the user pmtr runs as may use it (try sudo)`,
        });
        // No capability survives the switch to nobody, so none of this could be overridden.
        const c = creds(intruder);
        expect([c.Uid, c.CapPrm, c.CapEff, c.CapAmb]).toEqual(["65534\t65534\t65534\t65534", "0000000000000000", "0000000000000000", "0000000000000000"]);

        // As root the same probe reaches pmtr: the refusals above are the user's, not the probe's.
        expect(attempts(control)).toEqual({ "kill-0": "ok", environ: "ok", mem: "ok", "fd-list": "ok" });

        expect(isAlive(p.pid)).toBe(true);
        expect(isAlive(victim!)).toBe(true);
        expect(startedPids(p.stderr, "victim")).toEqual([victim!]);
        expect(p.stderr).not.toMatch(/exiting on signal|job victim \[\d+\] exited|stopping job victim|control: stop/);
      });
    }), 30_000);

  test.concurrent("pmtr's own supplementary groups reach only jobs without `user`; a job with `user` gets exactly that user's groups", () =>
    inTempDir(async (dir) => {
      const sock = join(dir, "pmtr.sock");
      const users = ["nobody", "root", "daemon"];
      const reports = Object.fromEntries(["inherits", ...users].map((n) => [n, reportDir(dir, n)]));
      const conf = writeConfig(dir, [
        `job {\n  name inherits\n  cmd ${INTRUDER} ${reports.inherits} ${PMTR} ${sock} harmless\n  once\n}`,
        ...users.map((u) => `job {\n  name as-${u}\n  cmd ${INTRUDER} ${reports[u]} ${PMTR} ${sock} harmless\n  user ${u}\n  once\n}`),
      ].join("\n"));
      const pmtrGroups = "4 27 100";
      await withPmtr(["-F", "-c", conf, "-s", sock], { wrap: ["setpriv", `--groups=${pmtrGroups.replaceAll(" ", ",")}`] }, async (p) => {
        for (const report of Object.values(reports)) {
          await waitFor(`${report}/creds`, () => existsSync(join(report, "creds")));
          writeFileSync(join(report, "victim"), `${p.pid}\n`);
        }
        expect(sortedGroups(readFileSync(`/proc/${p.pid}/status`, "utf8").match(/^Groups:(.*)$/m)?.[1])).toBe(pmtrGroups);
        expect(sortedGroups(creds(reports.inherits!).Groups)).toBe(pmtrGroups);
        for (const u of users) expect([u, sortedGroups(creds(reports[u]!).Groups)]).toEqual([u, groupsOf(u)]);
        await waitFor("probes done", () => Object.values(reports).every((r) => existsSync(join(r, "done"))), 15_000);
      });
    }), 30_000);
});
