// examples/: the Kubernetes Pod, the Nomad job and the Prometheus configuration agree with what
// pmtr serves (paths, port) and with each other, and the tools that read them accept them.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { EXAMPLE_METRICS_PORT, METRICS_PATHS } from "../../src/control/metrics-server.ts";
import { PMTR, rmSync, tempDir, writeConfig } from "../helpers.ts";
import { promtool } from "../unit/control/metrics-fixture.ts";

const EXAMPLES = resolve(import.meta.dir, "../../examples");
const read = (path: string) => readFileSync(`${EXAMPLES}/${path}`, "utf8");

/** The port of the `metrics on` line of a pmtr.conf text. */
function metricsPort(conf: string): number {
  const m = /^metrics on http:\/\/(\S+):(\d+)$/m.exec(conf);
  if (m === null) throw new Error(`no metrics on line in:\n${conf}`);
  return Number(m[2]);
}

/** `pmtr -t` on a configuration the example embeds: it must be one pmtr accepts. */
async function checkWithPmtr(conf: string): Promise<{ code: number; output: string }> {
  const dir = tempDir("pmtr-example-conf-");
  try {
    return await run([PMTR, "-t", "-c", writeConfig(dir, conf)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(argv: string[]): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: out + err };
}

describe("Kubernetes Pod (Bun.YAML.parse)", () => {
  const docs = Bun.YAML.parse(read("kubernetes/pmtr-pod.yaml")) as any[];
  const configMap = docs.find((d) => d.kind === "ConfigMap");
  const pod = docs.find((d) => d.kind === "Pod");
  const container = pod.spec.containers[0];

  test("runs pmtr as PID 1 in the foreground on the mounted configuration", () => {
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === "config");
    expect(container.command).toEqual(["/usr/bin/pmtr", "-F", "-c", `${mount.mountPath}/pmtr.conf`]);
    expect(pod.spec.volumes.find((v: { name: string }) => v.name === "config").configMap.name).toBe(configMap.metadata.name);
    // pmtr as root refuses a configuration that group or others can write.
    expect(pod.spec.volumes[0].configMap.defaultMode).toBe(0o644);
  });

  test("the ConfigMap's pmtr.conf is valid", async () => {
    expect(await checkWithPmtr(configMap.data["pmtr.conf"])).toEqual({ code: 0, output: "" });
  });

  test("liveness on /healthz and readiness on /readyz, on the port pmtr serves", () => {
    const port = container.ports.find((p: { name: string }) => p.name === "metrics");
    expect(port.containerPort).toBe(EXAMPLE_METRICS_PORT);
    expect(metricsPort(configMap.data["pmtr.conf"])).toBe(EXAMPLE_METRICS_PORT);
    expect(container.livenessProbe.httpGet).toEqual({ path: METRICS_PATHS.healthz, port: "metrics" });
    expect(container.readinessProbe.httpGet).toEqual({ path: METRICS_PATHS.readyz, port: "metrics" });
    expect(pod.metadata.annotations["prometheus.io/port"]).toBe(String(EXAMPLE_METRICS_PORT));
    expect(pod.metadata.annotations["prometheus.io/path"]).toBe(METRICS_PATHS.metrics);
  });
});

describe("Nomad job (JSON job format)", () => {
  const job = JSON.parse(read("nomad/pmtr.nomad.json")).Job;
  const group = job.TaskGroups[0];
  const task = group.Tasks[0];
  const template = task.Templates[0];

  test("runs pmtr in the foreground on the rendered configuration", () => {
    expect(task.Config.entrypoint).toEqual(["/usr/bin/pmtr"]);
    expect(task.Config.args).toEqual(["-F", "-c", `/${template.DestPath}`]);
    expect(template.Perms).toBe("0644");
  });

  test("the template's pmtr.conf is valid", async () => {
    expect(await checkWithPmtr(template.EmbeddedTmpl)).toEqual({ code: 0, output: "" });
  });

  test("checks /healthz (restarting the task) and /readyz on the port pmtr serves", () => {
    const label = group.Networks[0].DynamicPorts[0];
    expect(label.To).toBe(EXAMPLE_METRICS_PORT);
    expect(metricsPort(template.EmbeddedTmpl)).toBe(EXAMPLE_METRICS_PORT);
    expect(task.Config.ports).toEqual([label.Label]);
    const service = group.Services[0];
    expect(service.PortLabel).toBe(label.Label);
    const byPath = Object.fromEntries(service.Checks.map((c: { Path: string }) => [c.Path, c]));
    expect(byPath[METRICS_PATHS.healthz].Type).toBe("http");
    expect(byPath[METRICS_PATHS.healthz].CheckRestart.Limit).toBeGreaterThan(0);
    expect(byPath[METRICS_PATHS.readyz].Type).toBe("http");
  });
});

describe("Prometheus", () => {
  test("the scrape configuration targets pmtr's loopback address and path, and promtool accepts it", async () => {
    const config = Bun.YAML.parse(read("prometheus/prometheus.yml")) as { scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
    const scrape = config.scrape_configs[0]!;
    expect(scrape.metrics_path).toBe(METRICS_PATHS.metrics);
    expect(scrape.static_configs[0]!.targets).toEqual([`127.0.0.1:${EXAMPLE_METRICS_PORT}`]);
    const checked = await run([promtool(), "check", "config", `${EXAMPLES}/prometheus/prometheus.yml`]);
    expect(checked.output).toContain("SUCCESS");
    expect(checked.code).toBe(0);
  });

  test("the alerting rules name only series pmtr exports, and promtool accepts them", async () => {
    const text = read("prometheus/pmtr-alerts.yml");
    for (const name of text.match(/pmtr_[a-z_]+/g) ?? []) {
      expect(["pmtr_job_state", "pmtr_job_restarts_total", "pmtr_config_last_reload_success"]).toContain(name);
    }
    const checked = await run([promtool(), "check", "rules", `${EXAMPLES}/prometheus/pmtr-alerts.yml`]);
    expect(checked.output).toContain("SUCCESS: 3 rules found");
    expect(checked.code).toBe(0);
  });
});
