// A real Prometheus server (Debian's `prometheus`) scrapes a real pmtr: the test starts it on
// a loopback port with a temporary configuration and data directory, kills one of pmtr's jobs,
// and asks Prometheus's query API whether pmtr_job_restarts_total for that job went up. The
// scrape configuration is examples/prometheus/prometheus.yml with the target's port changed.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { join, jobRunning, rmSync, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";
import { freePort, SLEEPER, statusOf } from "./metrics-lib.ts";

const TAG = `metrics-prom-${process.pid}-${Date.now().toString(36)}`;

function prometheusBinary(): string {
  const path = Bun.which("prometheus");
  if (path === null) throw new Error("prometheus not found: install the Debian package `prometheus` (.ci/run does)");
  return path;
}

/** The instant value of `query` from Prometheus's HTTP API, or null when it has no sample. */
async function query(api: string, expr: string): Promise<number | null> {
  const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data: { result: Array<{ value: [number, string] }> } };
  if (body.status !== "success") throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
  const first = body.data.result[0];
  return first === undefined ? null : Number(first.value[1]);
}

test("Prometheus scrapes pmtr and sees pmtr_job_restarts_total of a killed job go up", async () => {
  const dir = tempDir("pmtr-metrics-prom-");
  const pmtrPort = await freePort();
  const promPort = await freePort();
  const conf = writeConfig(dir, [
    `metrics on http://127.0.0.1:${pmtrPort}`,
    "job {", "  name victim", `  cmd ${SLEEPER} ${TAG}`, "  backoff 1s..1s", "}",
  ].join("\n"));
  const example = readFileSync(resolve(import.meta.dir, "../../examples/prometheus/prometheus.yml"), "utf8");
  if (!example.includes("127.0.0.1:9464")) throw new Error("examples/prometheus/prometheus.yml no longer targets 127.0.0.1:9464");
  const promConf = writeConfig(dir, example.replaceAll("127.0.0.1:9464", `127.0.0.1:${pmtrPort}`).replace("scrape_interval: 15s", "scrape_interval: 1s"), "prometheus.yml");
  const prometheus = Bun.spawn([
    prometheusBinary(),
    `--config.file=${promConf}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let promLog = "";
  void (async () => {
    for await (const chunk of prometheus.stderr) promLog += new TextDecoder().decode(chunk);
  })();
  const api = `http://127.0.0.1:${promPort}`;
  try {
    await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
      const victim = await jobRunning(p, "victim", TAG);
      try {
        await waitFor("Prometheus to be ready", async () => {
          if (prometheus.exitCode !== null) throw new Error(`prometheus exited ${prometheus.exitCode}`);
          return (await statusOf(`${api}/-/ready`)) === 200;
        }, 20_000, 100);
      } catch (e) {
        throw new Error(`the Prometheus server could not be started: ${(e as Error).message}\n--- prometheus log ---\n${promLog}`);
      }
      const series = `pmtr_job_restarts_total{name="victim",job="pmtr"}`;
      await waitFor("Prometheus to have scraped restarts = 0", async () => (await query(api, series)) === 0, 20_000, 200);
      expect(await query(api, `up{job="pmtr"}`)).toBe(1);
      process.kill(victim, "SIGKILL");
      // The restart waits 1 s (backoff); then the next scrape shows it.
      await waitFor("Prometheus to see restarts = 1", async () => (await query(api, series)) === 1, 30_000, 250);
      expect(await query(api, `pmtr_job_last_exit_code{name="victim"}`)).toBe(137);
      expect(await query(api, `pmtr_job_up{name="victim"}`)).toBe(1);
    });
  } finally {
    prometheus.kill("SIGTERM");
    const timer = setTimeout(() => prometheus.kill("SIGKILL"), 10_000);
    await prometheus.exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
