// SPEC §12 end to end: real daemons (Bun HTTP servers, shell jobs, the real systemd-notify)
// under the compiled pmtr. Times come from the jobs' own event files, so the order asserted is
// the order the jobs saw, not pmtr's view of it.

import { afterAll, describe, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileLines, PMTR, tempDir, rmSync, waitFor, withPmtr, writeConfig } from "../helpers.ts";

const BUN = realpathSync(resolve(import.meta.dir, "../../node_modules/.bin/bun"));
const FIX = resolve(import.meta.dir, "../fixtures/readiness");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const dir = tempDir("pmtr-ready-");
  dirs.push(dir);
  return { dir, events: join(dir, "events"), sock: join(dir, "pmtr.sock") };
}

/** A loopback port free a moment ago. */
function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** "NAME what EPOCH_MS" lines -> the first time of each "NAME what". */
function times(events: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of fileLines(events)) {
    const [name, what, ms] = line.split(" ");
    const key = `${name} ${what}`;
    if (!out.has(key)) out.set(key, Number(ms));
  }
  return out;
}

async function status(sock: string, ...names: string[]): Promise<Array<Record<string, unknown>>> {
  const proc = Bun.spawn([PMTR, "-s", sock, "status", "--json", ...names], { stdout: "pipe", stderr: "pipe" });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  const parsed = JSON.parse(text) as { jobs?: Array<Record<string, unknown>> } | Array<Record<string, unknown>>;
  return Array.isArray(parsed) ? parsed : (parsed.jobs ?? []);
}

describe("a chain db -> migrate (once) -> web x2", () => {
  test("each job starts only after what it depends on is ready (or done), and stops before it", async () => {
    const { dir, events, sock } = setup();
    const port = freePort();
    const conf = writeConfig(dir, `
job {
  name web1
  cmd ${FIX}/job.sh web1 ${events} 0.2 run
  after migrate done
  after db
}
job {
  name web2
  cmd ${FIX}/job.sh web2 ${events} 0.2 run
  after migrate done
}
job {
  name migrate
  cmd ${FIX}/job.sh migrate ${events} 0.3 0
  after db
  once
}
job {
  name db
  cmd ${BUN} ${FIX}/server.ts db ${port} 700 ${events} /nonexistent
  ready tcp 127.0.0.1:${port} within 30s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await waitFor("both web jobs started", () => times(events).has("web1 start") && times(events).has("web2 start"), 30_000);
      const t = times(events);
      expect(t.get("migrate start")!).toBeGreaterThanOrEqual(t.get("db listening")!);
      expect(t.get("web1 start")!).toBeGreaterThanOrEqual(t.get("migrate exit")!);
      expect(t.get("web2 start")!).toBeGreaterThanOrEqual(t.get("migrate exit")!);
      await p.waitLog(/job db \[\d+\] is ready/);
      const st = await status(sock);
      expect(Object.fromEntries(st.map((j) => [j.name, j.state]))).toEqual({ web1: "running", web2: "running", migrate: "done", db: "running" });
      // Shutdown: dependants first — db only once web1, which names it, is gone; web2 (which
      // names only migrate, already done) independently.
      expect(await p.stop()).toBe(0);
      const after = times(events);
      expect(after.get("db term")!).toBeGreaterThanOrEqual(after.get("web1 term")!);
      expect(after.has("web2 term")).toBe(true);
    });
  }, 60_000);
});

describe("ready within", () => {
  test("not ready in time: logged with the probe's error, stopped, and shown as a failed start", async () => {
    const { dir, events, sock } = setup();
    const port = freePort();
    const conf = writeConfig(dir, `
job {
  name slow
  cmd ${FIX}/job.sh slow ${events} 0.2 run
  ready tcp 127.0.0.1:${port} within 1s
  backoff 1s..1s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(`job slow not ready after 1 s: connect 127.0.0.1:${port}: Connection refused`, 15_000);
      await p.waitLog(/sending SIGTERM to job slow/, 15_000);
      await waitFor("slow's term event", () => times(events).has("slow term"), 15_000);
      const [job] = await status(sock, "slow");
      expect(String((job!.lastStartError as { error: string }).error)).toContain("not ready after 1 s");
    });
  }, 60_000);
});

describe("health checks", () => {
  test("a job whose HTTP stops answering is restarted after K failed checks", async () => {
    const { dir, events, sock } = setup();
    const port = freePort();
    const hang = join(dir, "hang");
    const conf = writeConfig(dir, `
job {
  name api
  cmd ${BUN} ${FIX}/server.ts api ${port} 0 ${events} ${hang}
  ready http http://127.0.0.1:${port}/healthz within 30s
  check http http://127.0.0.1:${port}/healthz every 200ms timeout 300ms failures 3
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(/job api \[\d+\] is ready/, 20_000);
      const [before] = await status(sock, "api");
      Bun.write(hang, "");
      await p.waitLog(`job api unhealthy: 3 checks failed: http http://127.0.0.1:${port}/healthz: no answer in 300 ms`, 20_000);
      rmSync(hang);
      await waitFor("api ready again with a new pid", async () => {
        const [now] = await status(sock, "api");
        return now!.state === "running" && now!.pid !== before!.pid;
      }, 20_000, 100);
    });
  }, 60_000);
});

describe("a check added by a reload", () => {
  test("applies in place to the running process: same pid, and it is checked from then on", async () => {
    const { dir, events, sock } = setup();
    const port = freePort();
    const hang = join(dir, "hang");
    const block = (extra: string) => `
job {
  name api
  cmd ${BUN} ${FIX}/server.ts api ${port} 0 ${events} ${hang}
  ready http http://127.0.0.1:${port}/healthz within 30s
${extra}}
`;
    const conf = writeConfig(dir, block(""));
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(/job api \[\d+\] is ready/, 20_000);
      const [before] = await status(sock, "api");
      writeConfig(dir, block(`  check http http://127.0.0.1:${port}/healthz every 200ms timeout 300ms failures 2\n`));
      await p.waitLog("rescanning job configuration", 10_000);
      await waitFor("the reload applied", async () => (await status(sock, "api"))[0]?.state === "running", 10_000, 50);
      expect((await status(sock, "api"))[0]!.pid).toBe(before!.pid);
      Bun.write(hang, "");
      await p.waitLog("job api unhealthy: 2 checks failed", 20_000);
      rmSync(hang);
    });
  }, 60_000);
});

describe("waiting", () => {
  test("a job whose dependency is disabled waits and says for what", async () => {
    const { dir, events, sock } = setup();
    const conf = writeConfig(dir, `
job {
  name db
  cmd ${FIX}/job.sh db ${events} 0.2 run
  disable
}
job {
  name web
  cmd ${FIX}/job.sh web ${events} 0.2 run
  after db
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async () => {
      const web = await waitFor("web's status", async () => (await status(sock, "web")).find((j) => j.state === "waiting"), 10_000, 50);
      expect(String(web.reason)).toContain("db");
      expect(times(events).has("web start")).toBe(false);
    });
  }, 30_000);
});

describe("ready notify", () => {
  test("a daemon written for systemd Type=notify is ready on READY=1, and its STATUS shows", async () => {
    const { dir, sock } = setup();
    const conf = writeConfig(dir, `
job {
  name svc
  cmd ${FIX}/notify.sh 0.3
  ready notify within 20s
}
`);
    await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
      await p.waitLog(/job svc \[\d+\] is ready/, 20_000);
      const svc = await waitFor("status text", async () => (await status(sock, "svc")).find((j) => j.statusText === "serving requests"), 5000, 50);
      expect(svc.state).toBe("running");
    });
  }, 30_000);
});
