// SPEC §12 in the runner: `after` gating (started, ready, done), the ready/not-ready inputs of
// readiness probes with the `within` deadline, shutdown order (dependants first), and issue 12
// fault 6 (nothing starts once shutdown has begun). Fake OS, manual clock.

import { describe, expect, test } from "bun:test";
import type { AfterSpec } from "../../../src/config/model.ts";
import { planReload } from "../../../src/core/reconcile.ts";
import { MAX_STARTS_IN_FLIGHT } from "../../../src/core/supervisor.ts";
import { DEFAULT_POLICY } from "../../../src/config/defaults.ts";
import { config, job, settle, setup } from "./fake-ports.ts";

const after = (name: string, condition: AfterSpec["condition"]): AfterSpec => ({ name, condition });
const state = (sup: ReturnType<typeof setup>["sup"], name: string) => sup.statusOf(name);

describe("after (SPEC §12)", () => {
  test("started: the dependant starts once its dependency's process runs, and says what it waits for", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    sup.apply(config(job("app", { after: [after("db", "started")] }), job("db")));
    await settle();
    expect(ports.pending.map((p) => p.job.name)).toEqual(["db"]);
    expect(state(sup, "app")).toMatchObject({ state: "waiting", reason: "waiting for db to start" });
    ports.resolveStarts();
    await settle();
    expect(ports.pending.map((p) => p.job.name)).toEqual(["app"]);
  });

  test("ready: a dependency with `ready` must be ready; not ready in time stops it and counts as a failed start", async () => {
    const { ports, sup } = setup();
    const ready = { probe: { kind: "tcp" as const, host: "127.0.0.1", port: 5432 }, withinMs: 30_000 };
    sup.apply(config(job("db", { ready }), job("app", { after: [after("db", "ready")] })));
    await settle();
    expect(state(sup, "db")).toMatchObject({ state: "starting", ready: false });
    expect(state(sup, "db")!.reason).toBe("not ready yet (tcp 127.0.0.1:5432), 0 s of 30 s");
    expect(ports.running("app")).toBeUndefined();
    expect(state(sup, "app")!.reason).toBe("waiting for db to be ready");
    sup.notReady("db", "connect: Connection refused");
    await ports.advance(30_000);
    expect(ports.lines).toContain("job db not ready after 30 s: connect: Connection refused");
    expect(ports.running("db")!.signals).toEqual(["SIGTERM"]);
    ports.exit("db", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(state(sup, "db")).toMatchObject({ state: "backoff", lastStartError: { step: "ready" } });
    // The reason is the readiness, not the SIGTERM pmtr sent because of it; and the lines come
    // in the order things happened.
    expect(state(sup, "db")!.reason).toMatch(/^failed to start: ready: not ready after 30 s: connect: Connection refused; restart in \d+ s \(attempt 1\)$/);
    const at = (line: string) => ports.lines.findIndex((l) => l.startsWith(line));
    expect(at("job db not ready after 30 s")).toBeLessThan(at("sending SIGTERM to job db"));
    expect(at("sending SIGTERM to job db")).toBeLessThan(at("job db restarting too fast"));
    await ports.advance(10_000);
    sup.ready("db");
    await settle();
    expect(ports.lines).toContain("job db [101] is ready");
    expect(state(sup, "db")).toMatchObject({ state: "running", ready: true });
    expect(ports.running("app")).toBeDefined();
  });

  test("a dependency that will not get there by itself is named with why: disabled, stopped", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("dis", { disabled: true }), job("db"), job("app", { after: [after("dis", "started")] }), job("web", { after: [after("db", "started")] })));
    await settle();
    expect(state(sup, "app")!.reason).toBe("waiting for dis to start (dis is disabled)");
    expect(state(sup, "web")!.state).toBe("running");
    sup.stop(["db"]);
    ports.exit("db", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    sup.stop(["web"]);
    ports.exit("web", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    sup.start(["web"]);
    await settle();
    expect(state(sup, "web")!.reason).toBe("waiting for db to start (db was stopped: pmtr start it)");
  });

  test("done: met only once the dependency is done after exit 0", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("migrate", { once: true }), job("app", { after: [after("migrate", "done")] })));
    await settle();
    expect(ports.running("app")).toBeUndefined();
    ports.exit("migrate", { kind: "exited", code: 0 });
    await settle();
    expect(ports.running("app")).toBeDefined();
  });

  test("shutdown stops dependants before what they depend on; independent jobs at once", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("db"), job("app", { after: [after("db", "started")] }), job("other")));
    await settle();
    let finished = false;
    void sup.shutdown().then(() => (finished = true));
    expect(ports.running("app")!.signals).toEqual(["SIGTERM"]);
    expect(ports.running("other")!.signals).toEqual(["SIGTERM"]);
    expect(ports.running("db")!.signals).toEqual([]);
    ports.exit("app", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.running("db")!.signals).toEqual(["SIGTERM"]);
    ports.exit("db", { kind: "signaled", signal: "SIGTERM" });
    ports.exit("other", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(finished).toBe(true);
  });
});

describe("removal order (SPEC §12)", () => {
  test("removing a job and its dependant stops the dependant first; a job put back before its removal began is untouched", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("db"), job("app", { after: [after("db", "started")] }), job("x")));
    await settle();
    sup.apply(config(job("x")));
    await settle();
    expect(ports.running("app")!.signals).toEqual(["SIGTERM"]);
    expect(ports.running("db")!.signals).toEqual([]);
    sup.apply(config(job("x"), job("db")));
    await settle();
    ports.exit("app", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.running("db")!.signals).toEqual([]);
    expect(ports.startsOf("db")).toBe(1);
    sup.apply(config(job("x")));
    await settle();
    expect(ports.running("db")!.signals).toEqual(["SIGTERM"]);
    ports.exit("db", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(sup.snapshot().map((j) => j.name)).toEqual(["x"]);
  });
});

describe("shutdown starts nothing (issue 12, fault 6)", () => {
  test("at most MAX_STARTS_IN_FLIGHT starts are in flight; the rest wait for one to resolve, and after shutdown never start", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    const n = 2 * MAX_STARTS_IN_FLIGHT + 4;
    sup.apply(config(...Array.from({ length: n }, (_, i) => job(`j${i}`))));
    await settle();
    expect(ports.pending.length).toBe(MAX_STARTS_IN_FLIGHT);
    expect(sup.statusOf(`j${n - 1}`)!.state).toBe("waiting");
    ports.resolveStarts();
    await settle();
    expect(ports.pending.map((p) => p.job.name)).toEqual(Array.from({ length: MAX_STARTS_IN_FLIGHT }, (_, i) => `j${i + MAX_STARTS_IN_FLIGHT}`));
    void sup.shutdown();
    ports.resolveStarts();
    await settle();
    expect(ports.pending).toEqual([]);
    expect(ports.procs.length).toBe(2 * MAX_STARTS_IN_FLIGHT);
    expect(ports.procs.every((p) => p.signals[0] === "SIGTERM")).toBe(true);
  });

  test("starts in flight are stopped when they resolve; waiting, backoff and gated jobs never start", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    sup.apply(config(job("a"), job("gate", { wait: true }), job("b"), job("c", { depends: ["/missing"] })));
    await settle();
    void sup.shutdown();
    ports.resolveStarts();
    await settle();
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    ports.exit("gate", { kind: "signaled", signal: "SIGTERM" });
    ports.digests.set("/missing", "v1");
    sup.dependsChanged("/missing");
    await ports.advance(60_000);
    expect(ports.procs.map((p) => p.job)).toEqual(["a", "gate"]);
    expect(sup.snapshot().map((j) => j.state)).toEqual(["stopped", "stopped", "stopped", "stopped"]);
    expect(sup.start(["b"])).toEqual([]);
    await settle();
    expect(ports.pending).toEqual([]);
  });
});

describe("planReload (SPEC §15 --diff, and what apply does)", () => {
  test("start, stop, restart with fields, apply in place, unchanged", () => {
    const old = [job("keep"), job("gone"), job("edit"), job("tune"), job("off")];
    const next = config(job("keep"), job("edit", { argv: ["/bin/edit", "-v"] }), job("tune", { policy: { ...DEFAULT_POLICY, stopSignal: "SIGQUIT" } }), job("off", { disabled: true }), job("new"));
    const plan = planReload(old, next);
    expect(plan.entries.map((e) => [e.name, e.kind, e.fields])).toEqual([
      ["keep", "unchanged", []],
      ["edit", "restart", ["argv"]],
      ["tune", "apply-in-place", ["policy"]],
      ["off", "stop", ["disabled"]],
      ["new", "start", []],
      ["gone", "stop", []],
    ]);
    expect(plan.counts).toEqual({ start: 1, stop: 2, restart: 1, "apply-in-place": 1, unchanged: 1 });
  });

  test("a policy-only edit leaves the process running (same pid), with the new policy in force", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a")));
    await settle();
    sup.apply(config(job("a", { policy: { ...DEFAULT_POLICY, stopSignal: "SIGQUIT" } })));
    await settle();
    expect(ports.running("a")!.signals).toEqual([]);
    expect(ports.lines).toContain("job a: policy changed, applied in place");
    sup.stop(["a"]);
    expect(ports.running("a")!.signals).toEqual(["SIGQUIT"]);
  });
});
