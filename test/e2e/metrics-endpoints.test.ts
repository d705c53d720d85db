// `metrics on` end to end (SPEC §14): dist/pmtr serving /metrics, /healthz and /readyz about
// real jobs, through kills, reloads, a dependency appearing, and an address moved by a reload.

import { afterEach, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { join, jobRunning, pidsWithArg, rmSync, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";
import { promtoolCheck } from "../unit/control/metrics-fixture.ts";
import { freePort, scrape, SLEEPER, statusOf, value } from "./metrics-lib.ts";

const TAG = `metrics-e2e-${process.pid}-${Date.now().toString(36)}`;
const marker = (name: string) => `${TAG}-${name}`;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function save(conf: string, content: string): void {
  renameSync(writeConfig(dirname(conf), content, ".next.tmp"), conf);
}
const job = (name: string, ...lines: string[]) => [`job {`, `  name ${name}`, `  cmd ${SLEEPER} ${marker(name)}`, ...lines.map((l) => `  ${l}`), `}`].join("\n");

async function withMetrics(conf: (url: string, dir: string) => string, fn: (ctx: { p: Parameters<Parameters<typeof withPmtr>[2]>[0]; url: string; dir: string; conf: string; port: number }) => Promise<void>) {
  const dir = tempDir("pmtr-metrics-");
  dirs.push(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const path = writeConfig(dir, conf(url, dir));
  await withPmtr(["-F", "-c", path, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
    await waitFor(`${url}/healthz to answer`, async () => (await statusOf(`${url}/healthz`)) === 200, 10_000);
    await fn({ p, url, dir, conf: path, port });
  });
}

test("every series, with the right values after a kill and after a rejected and an applied reload", async () => {
  // web restarts 3 s after an exit (not the default 10 s): long enough to see it down, short
  // enough for the suite.
  const web = () => job("web", "backoff 3s..3s");
  await withMetrics((url) => [`metrics on ${url}`, web(), `job {\n  name quick\n  cmd /bin/sh -c "exit 3"\n}`].join("\n"), async ({ p, url, conf }) => {
    const webPid = await jobRunning(p, "web", marker("web"));
    const beforeMs = Date.now();
    await waitFor("quick's exit to show", async () => (await value(url, 'pmtr_job_last_exit_code{name="quick"}')) === 3, 10_000);
    let { body, values } = await scrape(url);
    expect(values.get('pmtr_job_up{name="web"}')).toBe(1);
    expect(values.get('pmtr_job_state{name="web",state="running"}')).toBe(1);
    expect(values.get('pmtr_job_ready{name="web"}')).toBe(1);
    expect(values.get('pmtr_job_restarts_total{name="web"}')).toBe(0);
    // No run of web has ended: its last exit code is absent, not a made-up 0.
    expect(values.has('pmtr_job_last_exit_code{name="web"}')).toBe(false);
    const startedSec = values.get('pmtr_job_start_time_seconds{name="web"}')!;
    expect(Math.abs(startedSec * 1000 - beforeMs)).toBeLessThan(60_000);
    // The whole group of web: its shell and the sleep under it.
    expect(values.get('pmtr_job_memory_rss_bytes{name="web"}')!).toBeGreaterThan(200 * 1024);
    expect(values.get('pmtr_job_cpu_seconds_total{name="web"}')!).toBeGreaterThanOrEqual(0);
    expect(values.get('pmtr_job_up{name="quick"}')).toBe(0);
    expect(values.get('pmtr_job_ready{name="quick"}')).toBe(0);
    expect(values.get('pmtr_job_memory_rss_bytes{name="quick"}')).toBe(0);
    expect(values.get('pmtr_config_reloads_total{result="success"}')).toBe(0);
    expect(values.get('pmtr_config_reloads_total{result="failure"}')).toBe(0);
    expect(values.get("pmtr_config_last_reload_success")).toBe(1);
    expect(body).toMatch(/^pmtr_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
    // Exactly one state is 1 for each job.
    for (const name of ["web", "quick"]) {
      const ones = [...values].filter(([k, v]) => k.startsWith(`pmtr_job_state{name="${name}",`) && v === 1);
      expect(ones.length).toBe(1);
    }
    const checked = await promtoolCheck(body);
    expect(checked.output).toBe("");

    // SIGKILL: the exit shows as 128 + 9 while the restart waits (3 s), then the restart counts.
    process.kill(webPid, "SIGKILL");
    await waitFor("web's kill to show", async () => (await value(url, 'pmtr_job_last_exit_code{name="web"}')) === 137, 10_000);
    expect(await value(url, 'pmtr_job_up{name="web"}')).toBe(0);
    expect(await value(url, 'pmtr_job_state{name="web",state="running"}')).toBe(0);
    await waitFor("web's restart to count", async () => (await value(url, 'pmtr_job_restarts_total{name="web"}')) === 1, 20_000);
    expect(await value(url, 'pmtr_job_up{name="web"}')).toBe(1);

    // A file with errors: counted as a failure, last reload 0. The fixed file: a success, 1.
    save(conf, [`metrics on ${url}`, web(), "bogus line"].join("\n"));
    await p.waitLog("keeping the previous configuration", 10_000);
    await waitFor("the rejected reload to count", async () => (await value(url, 'pmtr_config_reloads_total{result="failure"}')) === 1);
    expect(await value(url, "pmtr_config_last_reload_success")).toBe(0);
    save(conf, [`metrics on ${url}`, web()].join("\n"));
    await waitFor("the applied reload to count", async () => (await value(url, 'pmtr_config_reloads_total{result="success"}')) === 1, 10_000);
    ({ body, values } = await scrape(url));
    expect(values.get("pmtr_config_last_reload_success")).toBe(1);
    // quick was removed: its series are gone; web's survive unchanged.
    expect(body).not.toContain('name="quick"');
    expect(values.get('pmtr_job_restarts_total{name="web"}')).toBe(1);
  });
}, 60_000);

test("/readyz is 503 naming the job that waits and why, then 200 once it runs; /healthz 200; 404 and 405", async () => {
  await withMetrics((url, dir) => [`metrics on ${url}`, job("web"), job("gated", "depends {", `  ${join(dir, "flag")}`, "}")].join("\n"), async ({ p, url, dir }) => {
    await jobRunning(p, "web", marker("web"));
    let res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).toStartWith("not ready: 1 of 2 jobs\ngated: waiting");
    expect(text).not.toContain("web:");
    writeFileSync(join(dir, "flag"), "go\n");
    await jobRunning(p, "gated", marker("gated"), [], 10_000);
    await waitFor("/readyz to answer 200", async () => (await statusOf(`${url}/readyz`)) === 200, 10_000);
    res = await fetch(`${url}/readyz`);
    expect(await res.text()).toBe("ready: 2 jobs running\n");
    expect(await statusOf(`${url}/healthz`)).toBe(200);
    expect(await statusOf(`${url}/`)).toBe(404);
    expect(await statusOf(`${url}/metrics/x`)).toBe(404);
    expect(await statusOf(`${url}/metrics`, { method: "POST", body: "x" })).toBe(405);
  });
}, 60_000);

test("the address follows reloads; a port in use is logged and pmtr goes on; a non-loopback address is warned about", async () => {
  await withMetrics((url) => [`metrics on ${url}`, job("web")].join("\n"), async ({ p, url, conf }) => {
    const web = await jobRunning(p, "web", marker("web"));
    const port2 = await freePort();
    const url2 = `http://127.0.0.1:${port2}`;
    save(conf, [`metrics on ${url2}`, job("web")].join("\n"));
    await waitFor(`${url2} to answer`, async () => (await statusOf(`${url2}/healthz`)) === 200, 10_000);
    await waitFor(`${url} to be closed`, async () => (await statusOf(`${url}/healthz`)) === "refused");

    // A port someone else holds: logged, nothing served, the jobs untouched.
    const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
    const taken = other.port!;
    try {
      save(conf, [`metrics on http://127.0.0.1:${taken}`, job("web")].join("\n"));
      await p.waitLog(`cannot serve metrics on http://127.0.0.1:${taken}: `, 10_000);
      expect(await statusOf(`${url2}/healthz`)).toBe("refused");
      expect(await (await fetch(`http://127.0.0.1:${taken}/metrics`)).text()).toBe("someone else");
    } finally {
      await other.stop(true);
    }
    // Everything but loopback is warned about, at each reload that keeps it.
    const port3 = await freePort("0.0.0.0");
    save(conf, [`metrics on http://0.0.0.0:${port3}`, job("web")].join("\n"));
    await waitFor("the 0.0.0.0 address to answer", async () => (await statusOf(`http://127.0.0.1:${port3}/healthz`)) === 200, 10_000);
    const warning = `metrics on http://0.0.0.0:${port3}: /metrics, /healthz and /readyz are unauthenticated`;
    expect(p.count(new RegExp(warning.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")))).toBe(1);
    save(conf, [`metrics on http://0.0.0.0:${port3}`, job("web"), "# touched"].join("\n"));
    await waitFor("the warning again at the next reload", () => p.count(new RegExp(warning.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))) === 2, 10_000);
    // Through all of it the job was never touched.
    expect(p.stderr).not.toContain("sending SIGTERM to job web");
    expect(await value(`http://127.0.0.1:${port3}`, 'pmtr_job_up{name="web"}')).toBe(1);
    expect(web).toBeGreaterThan(0);
  });
}, 60_000);

test("a job that gives up: state failed, /readyz 503 saying so, its last exit and restarts", async () => {
  await withMetrics((url) => [`metrics on ${url}`, job("web"), `job {\n  name flaky\n  cmd /bin/sh -c "exit 5"\n  backoff 100ms..100ms\n  give up after 3 in 1m\n}`].join("\n"), async ({ p, url }) => {
    await jobRunning(p, "web", marker("web"));
    await waitFor("flaky to be failed", async () => (await value(url, 'pmtr_job_state{name="flaky",state="failed"}')) === 1, 15_000);
    const { values } = await scrape(url);
    expect(values.get('pmtr_job_state{name="flaky",state="backoff"}')).toBe(0);
    expect(values.get('pmtr_job_last_exit_code{name="flaky"}')).toBe(5);
    expect(values.get('pmtr_job_restarts_total{name="flaky"}')).toBe(2);
    expect(values.get('pmtr_job_up{name="flaky"}')).toBe(0);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^not ready: 1 of 2 jobs\nflaky: failed \(gave up[^\n]*\)\n$/);
  });
}, 60_000);

test("/readyz and pmtr_job_ready follow a job's ready condition: 503 while it starts, 200 once met", async () => {
  await withMetrics((url, dir) => [`metrics on ${url}`, job("db", `ready file ${join(dir, "db.ready")} within 60s`)].join("\n"), async ({ p, url, dir }) => {
    await jobRunning(p, "db", marker("db"));
    await waitFor("db to show as starting", async () => (await value(url, 'pmtr_job_state{name="db",state="starting"}')) === 1, 10_000);
    expect(await value(url, 'pmtr_job_ready{name="db"}')).toBe(0);
    expect(await value(url, 'pmtr_job_up{name="db"}')).toBe(1);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^not ready: 1 of 1 job\ndb: starting \(not ready yet \(file [^\n]*\)\n$/);
    writeFileSync(join(dir, "db.ready"), "");
    await waitFor("/readyz to answer 200", async () => (await statusOf(`${url}/readyz`)) === 200, 10_000);
    expect(await value(url, 'pmtr_job_ready{name="db"}')).toBe(1);
    expect(await value(url, 'pmtr_job_state{name="db",state="running"}')).toBe(1);
  });
}, 60_000);

test("pmtr_job_cpu_seconds_total keeps the CPU of a worker that has exited and been reaped within the group", async () => {
  // The job's shell burns CPU in a subshell, waits for it, then execs sleep: no process of the
  // group that burned the CPU is alive any more, but its time is in the leader's cutime.
  const burn = `/bin/sh -c "( i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done ); exec ${SLEEPER} ${marker("burner")}"`;
  await withMetrics((url) => [`metrics on ${url}`, `job {\n  name burner\n  cmd ${burn}\n}`].join("\n"), async ({ p, url }) => {
    await waitFor("the burner to exec its sleep", () => p.stderr.includes("started job burner") && readProcArgs(marker("burner")), 30_000);
    const cpu = await waitFor("the burned CPU to show", async () => {
      const v = await value(url, 'pmtr_job_cpu_seconds_total{name="burner"}');
      return v !== undefined && v >= 0.1 ? v : null;
    }, 15_000, 200);
    expect(cpu).toBeGreaterThanOrEqual(0.1);
  });
}, 60_000);

/** True once a live process has `arg` as an argument. */
function readProcArgs(arg: string): boolean {
  return pidsWithArg(arg).length > 0;
}
