import { expect, test } from "bun:test";
import { escapeLabel, formatMetrics, type MetricsJob, type MetricsSnapshot } from "../../../src/control/metrics-format.ts";
import { promtoolCheck } from "./metrics-fixture.ts";

const base: MetricsJob = {
  name: "web", state: "running", up: true, ready: true, restarts: 2, lastExitCode: 3,
  startedAtEpochMs: 1_700_000_000_500, rssBytes: 8192, cpuSeconds: 1.25,
};
const snapshot = (jobs: MetricsJob[], over: Partial<MetricsSnapshot> = {}): MetricsSnapshot => ({
  jobs, states: ["running", "backoff", "failed"], reloads: { success: 4, failure: 1 }, lastReloadSuccess: false, version: "1.2.3", ...over,
});

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

test("every series of SPEC §14, with the values of the snapshot", () => {
  const text = formatMetrics(snapshot([base, { ...base, name: "db", state: "backoff", up: false, ready: false, lastExitCode: null, startedAtEpochMs: null, rssBytes: 0, cpuSeconds: 0 }]));
  expect(lines(text)).toEqual([
    'pmtr_job_up{name="web"} 1',
    'pmtr_job_up{name="db"} 0',
    'pmtr_job_state{name="web",state="running"} 1',
    'pmtr_job_state{name="web",state="backoff"} 0',
    'pmtr_job_state{name="web",state="failed"} 0',
    'pmtr_job_state{name="db",state="running"} 0',
    'pmtr_job_state{name="db",state="backoff"} 1',
    'pmtr_job_state{name="db",state="failed"} 0',
    'pmtr_job_ready{name="web"} 1',
    'pmtr_job_ready{name="db"} 0',
    'pmtr_job_restarts_total{name="web"} 2',
    'pmtr_job_restarts_total{name="db"} 2',
    'pmtr_job_last_exit_code{name="web"} 3',
    'pmtr_job_start_time_seconds{name="web"} 1700000000.5',
    'pmtr_job_memory_rss_bytes{name="web"} 8192',
    'pmtr_job_memory_rss_bytes{name="db"} 0',
    'pmtr_job_cpu_seconds_total{name="web"} 1.25',
    'pmtr_job_cpu_seconds_total{name="db"} 0',
    'pmtr_config_reloads_total{result="success"} 4',
    'pmtr_config_reloads_total{result="failure"} 1',
    "pmtr_config_last_reload_success 0",
    'pmtr_build_info{version="1.2.3"} 1',
  ]);
  expect(text).toContain("# TYPE pmtr_job_restarts_total counter\n");
  expect(text).toContain("# TYPE pmtr_job_up gauge\n");
  expect(text.endsWith("\n")).toBe(true);
});

test("each family has one HELP and one TYPE line, before its samples", () => {
  const text = formatMetrics(snapshot([base]));
  const families = [...text.matchAll(/^# TYPE (\S+) (gauge|counter)$/gm)].map((m) => m[1]);
  expect(families).toEqual([
    "pmtr_job_up", "pmtr_job_state", "pmtr_job_ready", "pmtr_job_restarts_total", "pmtr_job_last_exit_code",
    "pmtr_job_start_time_seconds", "pmtr_job_memory_rss_bytes", "pmtr_job_cpu_seconds_total",
    "pmtr_config_reloads_total", "pmtr_config_last_reload_success", "pmtr_build_info",
  ]);
  for (const f of families) expect(text.indexOf(`# HELP ${f} `)).toBeLessThan(text.indexOf(`# TYPE ${f} `));
  // `job` is the label Prometheus reserves for itself.
  expect(text).not.toMatch(/[{,]job=/);
});

test("label values escape backslash, quote and newline", () => {
  expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  const text = formatMetrics(snapshot([{ ...base, name: 'we"b\\1' }], { version: "0.1\n" }));
  expect(text).toContain('pmtr_job_up{name="we\\"b\\\\1"} 1');
  expect(text).toContain('pmtr_build_info{version="0.1\\n"} 1');
});

test("no jobs still gives a valid exposition", async () => {
  const text = formatMetrics(snapshot([]));
  expect(text).toContain("pmtr_build_info");
  const checked = await promtoolCheck(text);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});

test("promtool check metrics accepts the output, odd names included", async () => {
  const text = formatMetrics(snapshot([base, { ...base, name: 'a "quoted"\\name' }, { ...base, name: "web.2", lastExitCode: 137 }]));
  const checked = await promtoolCheck(text);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});
