// GET /metrics (SPEC §14): a snapshot of pmtr as Prometheus text exposition format 0.0.4.
// Pure: the server gathers the snapshot (jobs, cached group usage, reload counters) and this
// only writes it, so every series and its escaping is unit-tested without a socket.
//
// The job label is `name`, not `job`: a Prometheus server sets `job` itself (the scrape job)
// and renames a scraped `job` label to `exported_job`, which would break every query.

/** One job as /metrics shows it. */
export interface MetricsJob {
  readonly name: string;
  /** The job's state as `pmtr status` names it; one of MetricsSnapshot.states. */
  readonly state: string;
  /** True while the job has a process (running, starting, or being stopped). */
  readonly up: boolean;
  /** True when running and, for a job with `ready`, its condition is met. */
  readonly ready: boolean;
  readonly restarts: number;
  /** Exit status of the last run, a death by signal N as 128+N (as shells report it); null
   *  before any run ended (the series is then absent, not a made-up 0). */
  readonly lastExitCode: number | null;
  /** Wall-clock ms since the epoch when the current (or last) run started; null if never. */
  readonly startedAtEpochMs: number | null;
  /** Whole process group; 0 when the job has no process. */
  readonly rssBytes: number;
  readonly cpuSeconds: number;
}

export interface MetricsSnapshot {
  readonly jobs: readonly MetricsJob[];
  /** Every state a job can be in: one pmtr_job_state series per state per job. */
  readonly states: readonly string[];
  /** Configurations applied (`success`) and rejected (`failure`) since pmtr started, start-up excluded. */
  readonly reloads: { readonly success: number; readonly failure: number };
  /** False after a rejected configuration, until one is applied. */
  readonly lastReloadSuccess: boolean;
  readonly version: string;
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "gauge" | "counter";

export function formatMetrics(s: MetricsSnapshot): string {
  const out: string[] = [];
  const family = (name: string, kind: Kind, help: string, samples: Iterable<string>) => {
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${kind}`);
    for (const sample of samples) out.push(sample);
  };
  const perJob = (metric: string, value: (job: MetricsJob) => number | null) =>
    s.jobs.flatMap((job) => {
      const v = value(job);
      return v === null ? [] : [`${metric}{name="${escapeLabel(job.name)}"} ${num(v)}`];
    });

  family("pmtr_job_up", "gauge", "1 while the job has a process, else 0.", perJob("pmtr_job_up", (j) => (j.up ? 1 : 0)));
  family("pmtr_job_state", "gauge", "1 for the state the job is in, 0 for the others.",
    s.jobs.flatMap((job) => {
      const name = escapeLabel(job.name);
      return s.states.map((state) => `pmtr_job_state{name="${name}",state="${escapeLabel(state)}"} ${state === job.state ? 1 : 0}`);
    }));
  family("pmtr_job_ready", "gauge", "1 when the job is running and ready (its ready condition met, if it has one).",
    perJob("pmtr_job_ready", (j) => (j.ready ? 1 : 0)));
  family("pmtr_job_restarts_total", "counter", "Starts of the job after its first one since pmtr started or its definition changed.",
    perJob("pmtr_job_restarts_total", (j) => j.restarts));
  family("pmtr_job_last_exit_code", "gauge", "Exit status of the job's last run (128+N for a death by signal N); absent before any run ended.",
    perJob("pmtr_job_last_exit_code", (j) => j.lastExitCode));
  family("pmtr_job_start_time_seconds", "gauge", "Start of the job's current or last run, seconds since the epoch; absent if it never started.",
    perJob("pmtr_job_start_time_seconds", (j) => (j.startedAtEpochMs === null ? null : j.startedAtEpochMs / 1000)));
  family("pmtr_job_memory_rss_bytes", "gauge", "Resident memory of every process in the job's process group.",
    perJob("pmtr_job_memory_rss_bytes", (j) => j.rssBytes));
  family("pmtr_job_cpu_seconds_total", "counter", "User and system CPU time of the processes in the job's process group and of the children they have waited for.",
    perJob("pmtr_job_cpu_seconds_total", (j) => j.cpuSeconds));
  family("pmtr_config_reloads_total", "counter", "Configurations applied (success) or rejected with errors (failure) since pmtr started.", [
    `pmtr_config_reloads_total{result="success"} ${s.reloads.success}`,
    `pmtr_config_reloads_total{result="failure"} ${s.reloads.failure}`,
  ]);
  family("pmtr_config_last_reload_success", "gauge", "0 after a configuration was rejected, until one is applied.",
    [`pmtr_config_last_reload_success ${s.lastReloadSuccess ? 1 : 0}`]);
  family("pmtr_build_info", "gauge", "Always 1; the version label says which pmtr this is.",
    [`pmtr_build_info{version="${escapeLabel(s.version)}"} 1`]);
  return `${out.join("\n")}\n`;
}

/** Label values escape backslash, double quote and newline (format 0.0.4). */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** HELP text escapes backslash and newline only. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
