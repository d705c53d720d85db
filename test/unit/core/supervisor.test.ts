// The supervision core against a fake OS and a manual clock: SPEC §4 (restart rules), §5
// (stopping), §6 (applying a configuration) and the run-time controls.

import { describe, expect, test } from "bun:test";
import { REFUSED } from "../../../src/core/ports.ts";
import { config, job, settle, setup } from "./fake-ports.ts";

const state = (sup: ReturnType<typeof setup>["sup"], name: string) => sup.snapshot().find((j) => j.name === name)?.state;

describe("restart rules (SPEC §4)", () => {
  test("a job that exits after running 10 s or more is restarted at once", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a")));
    await settle();
    expect(ports.lines).toContain("started job a [100]");
    await ports.advance(10_000);
    ports.exit("a");
    await settle();
    expect(ports.lines).toContain("job a [100] exited after 10 sec: exit status 0");
    expect(ports.running("a")?.pid).toBe(101);
    expect(ports.lines).not.toContain("job a restarting too fast, delaying restart");
  });

  test("a run's time counts from its process's creation, not from when its start was seen", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    sup.apply(config(job("a", { bounceSec: 60 })));
    const createdAt = ports.clock;
    // A batch of starts: this one is seen to have started only 0.5 s after its process was made.
    await ports.advance(500);
    ports.resolveStarts(createdAt);
    await settle();
    expect(sup.snapshot()[0]!.sinceStartMs).toBe(500);
    await ports.advance(9_500); // 10 s since the process was created
    ports.autoStart = true;
    ports.exit("a");
    await settle();
    expect(ports.lines).toContain("job a [100] exited after 10 sec: exit status 0");
    expect(ports.lines).not.toContain("job a restarting too fast, delaying restart");
    expect(ports.running("a")?.pid).toBe(101);
  });

  test("a bounce is timed from the process's creation too", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    sup.apply(config(job("a", { bounceSec: 60 })));
    const createdAt = ports.clock;
    await ports.advance(500);
    ports.resolveStarts(createdAt);
    await ports.advance(59_499);
    expect(ports.running("a")?.signals).toEqual([]);
    await ports.advance(1);
    expect(ports.running("a")?.signals).toEqual(["SIGTERM"]);
  });

  test("a quick exit delays the restart 10 s from the exit, and says so", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a")));
    await ports.advance(3_000);
    ports.exit("a", { kind: "signaled", signal: "SIGSEGV" });
    expect(ports.lines).toContain("job a [100] exited after 3 sec: killed by SIGSEGV");
    expect(ports.lines).toContain("job a restarting too fast, delaying restart");
    expect(state(sup, "a")).toBe("backoff");
    await ports.advance(9_999);
    expect(ports.running("a")).toBeUndefined();
    await ports.advance(1);
    expect(ports.running("a")?.pid).toBe(101);
    expect(sup.snapshot()[0]!.restarts).toBe(1);
    expect(sup.snapshot()[0]!.lastExit).toMatchObject({ kind: "signaled", signal: "SIGSEGV", ranMs: 3_000 });
  });

  test("exit status 33 and `once` keep a job down", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a"), job("b", { once: true })));
    await settle();
    ports.exit("a", { kind: "exited", code: 33 });
    ports.exit("b", { kind: "exited", code: 0 });
    await ports.advance(60_000);
    expect(ports.startsOf("a")).toBe(1);
    expect(ports.startsOf("b")).toBe(1);
    expect(ports.lines).toContain("job a exited with status 33, will not be restarted");
    expect(ports.lines).toContain("job b ran once, will not be restarted");
    expect(state(sup, "a")).toBe("done");
    expect(ports.alarm).toBeNull();
  });

  test("a failed start is logged with its step and error and retried after the delay", async () => {
    const { ports, sup } = setup();
    ports.failures.set("a", { step: "dir", error: "/nope: No such file or directory" });
    sup.apply(config(job("a"), job("b")));
    await settle();
    expect(ports.lines).toContain("job a failed to start: dir: /nope: No such file or directory");
    expect(state(sup, "a")).toBe("backoff");
    expect(sup.snapshot()[0]!.lastStartError).toMatchObject({ step: "dir", error: "/nope: No such file or directory" });
    expect(sup.snapshot()[0]!.reason).toBe("failed to start: dir: /nope: No such file or directory; restart in 10 s (attempt 1)");
    expect(ports.running("b")).toBeDefined();
    ports.failures.delete("a");
    await ports.advance(10_000);
    expect(ports.running("a")).toBeDefined();
  });

  test("jobs start by `order`, ties in file order", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("late", { order: 5 }), job("x"), job("early", { order: -1 }), job("y")));
    await settle();
    expect(ports.procs.map((p) => p.job)).toEqual(["early", "x", "y", "late"]);
  });

  test("`wait` holds later jobs until it exits, without holding anything else", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("first"), job("setup", { wait: true, once: true }), job("after")));
    await settle();
    expect(ports.running("first")).toBeDefined();
    expect(ports.running("setup")).toBeDefined();
    expect(ports.running("after")).toBeUndefined();
    expect(state(sup, "after")).toBe("waiting");
    expect(sup.settled()).toBe(false);
    // Other jobs are still served meanwhile.
    await ports.advance(10_000);
    ports.exit("first");
    await settle();
    expect(ports.startsOf("first")).toBe(2);
    ports.exit("setup");
    await settle();
    expect(ports.running("after")).toBeDefined();
    expect(sup.settled()).toBe(true);
  });

  test("`bounce every` stops the job when it has run that long and starts it again at once", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a", { bounceSec: 60 })));
    await settle();
    await ports.advance(59_999);
    expect(ports.procs[0]!.signals).toEqual([]);
    await ports.advance(1);
    expect(ports.procs[0]!.signals).toEqual(["SIGTERM"]);
    expect(ports.lines).toContain("bouncing job a [100] after 60 sec");
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.running("a")?.pid).toBe(101);
    expect(ports.lines).not.toContain("job a restarting too fast, delaying restart");
  });

  test("`depends`: a missing file keeps the job down; its appearance starts it; a change restarts it", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a", { depends: ["/etc/a.conf"] }), job("b")));
    await settle();
    expect(ports.running("a")).toBeUndefined();
    expect(ports.lines).toContain("job a is waiting for /etc/a.conf, which does not exist");
    expect(state(sup, "a")).toBe("waiting");
    ports.digests.set("/etc/a.conf", "v1");
    sup.dependsChanged("/etc/a.conf");
    await settle();
    expect(ports.running("a")?.pid).toBeDefined();
    // Same content (touch): nothing happens.
    sup.dependsChanged("/etc/a.conf");
    expect(ports.procs.find((p) => p.job === "a")!.signals).toEqual([]);
    ports.digests.set("/etc/a.conf", "v2");
    sup.dependsChanged("/etc/a.conf");
    expect(ports.lines).toContain("/etc/a.conf changed, restarting job a");
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.startsOf("a")).toBe(2);
    expect(ports.startsOf("b")).toBe(1);
    expect(sup.watchedPaths()).toEqual(["/etc/a.conf"]);
  });

  test("`depends`: a refused file counts as missing (said once, as refused); once fixed the job starts; refused while running stops it", async () => {
    const { ports, sup } = setup();
    ports.digests.set("/etc/a.conf", REFUSED);
    sup.apply(config(job("a", { depends: ["/etc/a.conf"] })));
    await settle();
    expect(ports.running("a")).toBeUndefined();
    expect(state(sup, "a")).toBe("waiting");
    sup.dependsChanged("/etc/a.conf");
    await settle();
    expect(ports.lines.filter((l) => l.includes("waiting for"))).toEqual(["job a is waiting for /etc/a.conf, which pmtr refuses to use until it is fixed"]);
    ports.digests.set("/etc/a.conf", "v1");
    sup.dependsChanged("/etc/a.conf");
    await settle();
    expect(ports.running("a")?.pid).toBeDefined();
    ports.digests.set("/etc/a.conf", REFUSED);
    sup.dependsChanged("/etc/a.conf");
    expect(ports.procs.find((p) => p.job === "a")!.signals).toEqual(["SIGTERM"]);
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.running("a")).toBeUndefined();
    expect(state(sup, "a")).toBe("waiting");
    expect(ports.startsOf("a")).toBe(1);
  });
});

describe("stopping (SPEC §5)", () => {
  test("SIGTERM to the group, SIGKILL 10 s later if it is still there", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a")));
    await settle();
    sup.stop(["a"]);
    expect(ports.lines).toContain("sending SIGTERM to job a [100]");
    await ports.advance(9_999);
    expect(ports.procs[0]!.signals).toEqual(["SIGTERM"]);
    await ports.advance(1);
    expect(ports.procs[0]!.signals).toEqual(["SIGTERM", "SIGKILL"]);
    expect(ports.lines).toContain("sending SIGKILL to job a [100]");
    ports.exit("a", { kind: "signaled", signal: "SIGKILL" });
    await ports.advance(60_000);
    expect(state(sup, "a")).toBe("stopped");
    expect(ports.startsOf("a")).toBe(1);
  });

  test("shutdown stops every job at once and resolves when all are gone, TERM-ignorers killed", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a"), job("b"), job("stubborn")));
    await settle();
    let finished = false;
    void sup.shutdown().then(() => (finished = true));
    expect(ports.procs.map((p) => p.signals)).toEqual([["SIGTERM"], ["SIGTERM"], ["SIGTERM"]]);
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    ports.exit("b", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(finished).toBe(false);
    expect(ports.running("a")).toBeUndefined(); // not restarted while shutting down
    await ports.advance(10_000);
    expect(ports.procs[2]!.signals).toEqual(["SIGTERM", "SIGKILL"]);
    ports.exit("stubborn", { kind: "signaled", signal: "SIGKILL" });
    await settle();
    expect(finished).toBe(true);
    expect(ports.alarm).toBeNull();
  });

  test("shutdown waits for what a job left in its group, and kills it if it lingers", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a")));
    await settle();
    let finished = false;
    void sup.shutdown().then(() => (finished = true));
    ports.procs[0]!.strays = 1;
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await ports.advance(5_000);
    expect(finished).toBe(false);
    await ports.advance(5_000);
    expect(ports.procs[0]!.signals.at(-1)).toBe("SIGKILL");
    ports.procs[0]!.strays = 0;
    sup.reaped();
    await settle();
    expect(finished).toBe(true);
  });

  test("a job that exits on its own leaves nothing behind in its group", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a")));
    await ports.advance(20_000);
    ports.procs[0]!.strays = 2;
    ports.exit("a");
    expect(ports.procs[0]!.signals).toEqual(["SIGTERM"]);
    await ports.advance(10_000);
    expect(ports.procs[0]!.signals).toEqual(["SIGTERM", "SIGKILL"]);
  });

  test("a start in flight at shutdown is stopped as soon as its pid is known", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    sup.apply(config(job("a")));
    let finished = false;
    void sup.shutdown().then(() => (finished = true));
    ports.resolveStarts();
    await settle();
    expect(ports.procs[0]!.signals).toEqual(["SIGTERM"]);
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(finished).toBe(true);
  });

  test("an exit reported before its start resolved is not lost", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    sup.apply(config(job("a")));
    await settle();
    // The spawner promises onExit after the start resolves, but deliver it early anyway.
    const pending = ports.pending.splice(0);
    ports.procs.push({ pid: 500, job: "a", signals: [], strays: 0, alive: false });
    sup.exited(500, { kind: "exited", code: 1 });
    pending[0]!.resolve({ ok: true, pid: 500 });
    await settle();
    expect(ports.lines).toContain("job a [500] exited after 0 sec: exit status 1");
    expect(state(sup, "a")).toBe("backoff");
    expect(ports.recordedLeaders()).toEqual([]); // started, then exited at once
  });
});

describe("the job record's feed (issue 10: one entry per start and exit)", () => {
  test("leaderStarted/leaderExited follow every start, exit, restart and stop", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a"), job("b"), job("c")));
    await settle();
    expect(ports.recordedLeaders()).toEqual(["a:100", "b:101", "c:102"]);
    await ports.advance(10_000);
    ports.exit("a", { kind: "signaled", signal: "SIGKILL" }); // restarted at once
    ports.exit("b"); // after 10 s too
    await settle();
    expect(ports.recordedLeaders()).toEqual(ports.liveLeaders());
    expect(ports.recordedLeaders()).toEqual(["a:103", "b:104", "c:102"]);
    sup.stop(["c"]);
    ports.exit("c", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.recordedLeaders()).toEqual(["a:103", "b:104"]);
    sup.restart(["a"]);
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.recordedLeaders()).toEqual(ports.liveLeaders());
    let done = false;
    void sup.shutdown().then(() => (done = true));
    for (const name of ["a", "b"]) ports.exit(name, { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(done).toBe(true);
    expect(ports.recordedLeaders()).toEqual([]);
  });
});

describe("applying a configuration (SPEC §6)", () => {
  test("new jobs start, removed and disabled ones stop, changed ones restart at once, the rest are untouched", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("keep"), job("gone"), job("off"), job("edit")));
    await settle();
    sup.apply(config(job("keep"), job("off", { disabled: true }), job("edit", { nice: 5 }), job("new")));
    await settle();
    expect(ports.lines).toContain("stopping job gone: removed from the configuration");
    expect(ports.lines).toContain("stopping job off: disabled");
    expect(ports.lines).toContain("restarting job edit: definition changed");
    expect(ports.running("new")).toBeDefined();
    ports.exit("gone", { kind: "signaled", signal: "SIGTERM" });
    ports.exit("off", { kind: "signaled", signal: "SIGTERM" });
    ports.exit("edit", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.startsOf("keep")).toBe(1);
    expect(ports.procs[0]!.signals).toEqual([]);
    expect(ports.startsOf("gone")).toBe(1);
    expect(ports.startsOf("off")).toBe(1);
    expect(ports.startsOf("edit")).toBe(2); // at once: no anti-spin delay
    expect(sup.snapshot().map((j) => j.name)).toEqual(["keep", "off", "edit", "new"]);
    expect(state(sup, "off")).toBe("disabled");
  });

  test("an unchanged job keeps its restart delay; a changed one in its delay starts at once", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a"), job("b")));
    await settle();
    ports.exit("a");
    ports.exit("b");
    sup.apply(config(job("a"), job("b", { env: ["X=1"] })));
    await settle();
    expect(ports.running("a")).toBeUndefined();
    expect(ports.running("b")).toBeDefined();
    await ports.advance(10_000);
    expect(ports.running("a")).toBeDefined();
  });

  test("a done job runs again when its definition changes", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a", { once: true })));
    await settle();
    ports.exit("a");
    sup.apply(config(job("a", { once: true })));
    await settle();
    expect(ports.startsOf("a")).toBe(1);
    sup.apply(config(job("a", { once: true, argv: ["/bin/a", "-x"] })));
    await settle();
    expect(ports.startsOf("a")).toBe(2);
  });

  test("a job removed while its start is in flight is stopped once started", async () => {
    const { ports, sup } = setup();
    ports.autoStart = false;
    sup.apply(config(job("a")));
    sup.apply(config());
    ports.resolveStarts();
    await settle();
    expect(ports.procs[0]!.signals).toEqual(["SIGTERM"]);
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(sup.snapshot()).toEqual([]);
  });

  test("a job put back while its old process is stopping starts only once that process is gone", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a")));
    await settle();
    sup.apply(config());
    sup.apply(config(job("a")));
    await settle();
    expect(ports.startsOf("a")).toBe(1);
    expect(state(sup, "a")).toBe("stopping");
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.running("a")?.pid).toBe(101);
    expect(sup.snapshot().map((j) => [j.name, j.state])).toEqual([["a", "running"]]);
  });
});

describe("run-time control", () => {
  test("UDP disable stops and enable starts at once; both hold across an unrelated save, and end when the job's own block changes", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a"), job("b", { disabled: true })));
    await settle();
    expect(sup.setEnabled(["a", "nope"], false)).toEqual(["nope"]);
    expect(sup.setEnabled(["b"], true)).toEqual([]);
    await settle();
    expect(ports.running("b")).toBeDefined();
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(sup.snapshot().map((j) => [j.name, j.state, j.enabled])).toEqual([["a", "stopped", false], ["b", "running", true]]);
    // An unrelated save (a new job c): both overrides hold.
    sup.apply(config(job("a"), job("b", { disabled: true }), job("c")));
    await settle();
    expect(ports.running("a")).toBeUndefined();
    expect(ports.procs.find((p) => p.job === "b")!.signals).toEqual([]);
    // A change to a's and b's own blocks ends them: the file decides again.
    sup.apply(config(job("a", { nice: 1 }), job("b", { disabled: true, nice: 1 }), job("c")));
    await settle();
    expect(ports.running("a")).toBeDefined();
    expect(ports.procs.find((p) => p.job === "b")!.signals).toEqual(["SIGTERM"]);
  });

  test("start skips the delay and revives a done job; stop holds; restart restarts", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a"), job("b")));
    await settle();
    ports.exit("a", { kind: "exited", code: 33 });
    ports.exit("b");
    sup.start(["a", "b"]);
    await settle();
    expect(ports.startsOf("a")).toBe(2);
    expect(ports.startsOf("b")).toBe(2);
    sup.stop(["a"]);
    ports.exit("a", { kind: "signaled", signal: "SIGTERM" });
    await ports.advance(30_000);
    expect(state(sup, "a")).toBe("stopped");
    sup.restart(["b"]);
    ports.exit("b", { kind: "signaled", signal: "SIGTERM" });
    await settle();
    expect(ports.startsOf("b")).toBe(3);
  });

  test("no alarm is set while nothing is due", async () => {
    const { ports, sup } = setup();
    sup.apply(config(job("a"), job("b")));
    await settle();
    expect(ports.alarm).toBeNull();
  });
});
