import { afterEach, expect, test } from "bun:test";
import { connect } from "node:net";
import { MetricsServer, type MetricsSource } from "../../../src/control/metrics-server.ts";
import { JOB_STATES } from "../../../src/control/target.ts";
import { freePort, job, promtoolCheck, type Job } from "./metrics-fixture.ts";

const servers: MetricsServer[] = [];
const leaders: Array<{ kill(signal: NodeJS.Signals): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const p of leaders.splice(0)) p.kill("SIGKILL");
});

function serve(jobs: () => Job[], reloads = { success: 0, failure: 0, lastSuccess: true }) {
  const logs: string[] = [];
  const source: MetricsSource = { jobs, states: JOB_STATES, reloads: () => reloads, version: "9.9.9" };
  const server = new MetricsServer(source, (level, message) => logs.push(`${level}: ${message}`));
  servers.push(server);
  return { server, logs };
}

async function started(jobs: () => Job[]) {
  const s = serve(jobs);
  const port = await freePort();
  s.server.configure({ host: "127.0.0.1", port });
  return { ...s, url: `http://127.0.0.1:${port}` };
}

test("/metrics: the job table as Prometheus text, with the 0.0.4 content type", async () => {
  // A real process group, so the group RSS is real.
  const leader = Bun.spawn(["setsid", "sleep", "60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  leaders.push(leader);
  const { url } = await started(() => [
    job({ name: "web", pid: leader.pid, restarts: 3, lastExit: { kind: "signaled", signal: "SIGKILL" }, startedAt: 1_700_000_000_000 }),
    job({ name: "db", state: "stopped", lastExit: { kind: "exited", code: 4 } }),
  ]);
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const body = await res.text();
  expect(body).toContain('pmtr_job_up{name="web"} 1\n');
  expect(body).toContain('pmtr_job_up{name="db"} 0\n');
  expect(body).toContain('pmtr_job_state{name="db",state="stopped"} 1\n');
  expect(body).toContain('pmtr_job_restarts_total{name="web"} 3\n');
  expect(body).toContain('pmtr_job_last_exit_code{name="web"} 137\n'); // 128 + SIGKILL
  expect(body).toContain('pmtr_job_last_exit_code{name="db"} 4\n');
  expect(body).toContain('pmtr_job_start_time_seconds{name="web"} 1700000000\n');
  expect(body).toContain('pmtr_build_info{version="9.9.9"} 1\n');
  const rss = Number(/pmtr_job_memory_rss_bytes\{name="web"\} (\d+)/.exec(body)?.[1]);
  expect(rss).toBeGreaterThan(100 * 1024);
  expect(body).toContain('pmtr_job_memory_rss_bytes{name="db"} 0\n');
  const checked = await promtoolCheck(body);
  expect(checked.output).toBe("");
});

test("/healthz answers 200 while the loop runs", async () => {
  const { url } = await started(() => []);
  const res = await fetch(`${url}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("ok\n");
});

test("/readyz: 503 with the jobs that are not ready and why, 200 once they all are", async () => {
  let jobs: Job[] = [
    job({ name: "web", state: "starting", pid: 10, ready: false, reason: "not ready yet (tcp 127.0.0.1:8080), 4 s of 60 s" }),
    job({ name: "api", state: "backoff", reason: "exit 3 after 0.2 s; restart in 8 s (attempt 4)" }),
    job({ name: "migrate", state: "done" }),
    job({ name: "old", state: "disabled" }),
    job({ name: "cache", state: "running", pid: 11, ready: true }),
  ];
  const { url } = await started(() => jobs);
  let res = await fetch(`${url}/readyz`);
  expect(res.status).toBe(503);
  expect(await res.text()).toBe(
    "not ready: 2 of 3 jobs\nweb: starting (not ready yet (tcp 127.0.0.1:8080), 4 s of 60 s)\napi: backoff (exit 3 after 0.2 s; restart in 8 s (attempt 4))\n",
  );
  jobs = jobs.map((j) => (j.name === "web" || j.name === "api" ? { ...j, state: "running", pid: 12, ready: true } : j));
  res = await fetch(`${url}/readyz`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("ready: 3 jobs running\n");
});

test("anything else is 404, anything but GET or HEAD is 405 with Allow", async () => {
  const { url } = await started(() => []);
  const notFound = await fetch(`${url}/nope`);
  expect(notFound.status).toBe(404);
  expect(await notFound.text()).toContain("not found: /nope");
  for (const method of ["POST", "PUT", "DELETE"]) {
    const res = await fetch(`${url}/metrics`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  }
  const head = await fetch(`${url}/metrics`, { method: "HEAD" });
  expect(head.status).toBe(200);
  // The query string does not change the path.
  expect((await fetch(`${url}/healthz?x=1`)).status).toBe(200);
});

test("huge requests are refused before they are read", async () => {
  const { url } = await started(() => []);
  const body = await fetch(`${url}/metrics`, { method: "POST", body: "x".repeat(2048) }).then((r) => r.status, () => "closed");
  expect(body).toBe(413);
  const headers = await fetch(`${url}/metrics`, { headers: { "X-Big": "y".repeat(20 * 1024) } }).then((r) => r.status, () => "closed");
  expect(headers).toBe(431);
});

test("a client that stalls mid-request does not stop others being served", async () => {
  const { url, server } = await started(() => []);
  const socket = connect(server.port()!, "127.0.0.1");
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n"); // and never the end of the headers
  try {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  } finally {
    socket.destroy();
  }
});

test("the address follows configure: moved, unchanged, off; a bind failure is logged and retried", async () => {
  const { server, logs } = serve(() => []);
  const first = await freePort();
  server.configure({ host: "127.0.0.1", port: first });
  expect((await fetch(`http://127.0.0.1:${first}/healthz`)).status).toBe(200);

  const second = await freePort();
  server.configure({ host: "127.0.0.1", port: second });
  expect((await fetch(`http://127.0.0.1:${second}/healthz`)).status).toBe(200);
  expect(await fetch(`http://127.0.0.1:${first}/healthz`).then(() => "answered", () => "refused")).toBe("refused");

  // Taken by someone else: logged, nothing served, and tried again at the next configure.
  const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("other") });
  const taken = blocker.port!;
  try {
    server.configure({ host: "127.0.0.1", port: taken });
    expect(logs.some((l) => l.startsWith(`err: cannot serve metrics on http://127.0.0.1:${taken}: `) && l.endsWith("(metrics are off until the configuration changes)"))).toBe(true);
    expect(server.port()).toBeNull();
  } finally {
    await blocker.stop(true);
  }
  server.configure({ host: "127.0.0.1", port: taken });
  expect(server.port()).toBe(taken);

  server.configure(null);
  expect(server.port()).toBeNull();
});

test("a non-loopback address is warned about at each configure", async () => {
  const { server, logs } = serve(() => []);
  const port = await freePort("0.0.0.0");
  server.configure({ host: "0.0.0.0", port });
  server.configure({ host: "0.0.0.0", port });
  expect(logs.filter((l) => l.startsWith(`warning: metrics on http://0.0.0.0:${port}: `)).length).toBe(2);
  server.configure({ host: "127.0.0.1", port });
  expect(logs.filter((l) => l.startsWith("warning:")).length).toBe(2);
});
