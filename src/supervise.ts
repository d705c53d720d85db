// pmtr running: the wiring between the supervision core (src/core) and the world (src/os,
// src/control). Start-up in SPEC order — detach, log, configuration, pidfile, signals,
// control surfaces, jobs — then one event loop where signal handlers only record and this
// module acts, and finally a clean shutdown.
//
// Start-up failures return 1 (configuration) or 3 (pidfile, another pmtr on the control socket, the socket);
// after start-up nothing a job, a file or a datagram does can make pmtr exit.

import { existsSync } from "node:fs";
import type { Options } from "./cli.ts";
import type { Config } from "./config/model.ts";
import { defaultSocketPath } from "./control/socket-path.ts";
import { startControlServer, type ControlServer } from "./control/socket-server.ts";
import type { ControlTarget, ReloadOutcome } from "./control/target.ts";
import { MetricsControl } from "./control/metrics.ts";
import { UdpControl } from "./control/udp.ts";
import { msg } from "./core/messages.ts";
import type { Ports } from "./core/ports.ts";
import { shutdownBoundMs } from "./core/shutdown-bound.ts";
import { Supervisor } from "./core/supervisor.ts";
import { EXIT } from "./exit.ts";
import { readConfigFile } from "./os/config-file.ts";
import { watchConfig } from "./os/config-watch.ts";
import { createDependsDigest } from "./os/depends-digest.ts";
import { createRecorder, recordPath, stopPreviousGeneration } from "./os/generation.ts";
import { detach, takeDaemonChild } from "./os/daemon.ts";
import { createHookRunner } from "./os/hooks.ts";
import { createLogger } from "./os/logger.ts";
import { acquireInstanceLock } from "./os/instance-lock.ts";
import { detachArgs } from "./os/log/detach-log.ts";
import { createJobOutputs } from "./os/log/job-outputs.ts";
import { openLogFile } from "./os/log/log-file.ts";
import { acquirePidfile } from "./os/pidfile.ts";
import { groupAlive, signalGroup } from "./os/process-group.ts";
import { becomeSubreaper, reapOrphans } from "./os/reaper.ts";
import { createReadiness } from "./os/probe/readiness.ts";
import { createNotifier } from "./os/sd-notify.ts";
import { installSignals } from "./os/signals.ts";
import { createSpawner, spawnRoutineProblem } from "./os/spawn.ts";
import { watchFile, type FileWatch } from "./os/watch.ts";

/** A save is applied once the file has been quiet this long: `echo > f` and a first write
 *  after re-creating a file truncate it before writing, and the empty file in between must
 *  not be applied (it would stop every job). A burst longer than SETTLE_MAX_MS is applied as
 *  it stands at that point and again when it ends. */
const SETTLE_QUIET_MS = 15;
const SETTLE_MAX_MS = 200;
/** At shutdown, how long captured output still being written is waited for. */
const OUTPUT_DRAIN_MS = 1000;

export async function supervise(options: Options, args: readonly string[]): Promise<number> {
  const daemonChild = takeDaemonChild();
  const isPid1 = process.pid === 1;
  // Without -F the command detaches; as PID 1 there is nothing to detach from (SPEC §9).
  if (!options.foreground && !isPid1 && daemonChild === null) return detach(detachArgs(args, options, (t) => process.stderr.write(t)));

  // Before anything is spawned: reading NOTIFY_SOCKET also removes it from our environment.
  const notifier = createNotifier();
  // A background pmtr says nothing on the terminal unless it fails to start: then the
  // command relays its stderr, so the operator sees why. Once running its stdio is /dev/null:
  // without syslog, the command gave it a -l file before detaching (os/log/detach-log.ts).
  const logger = createLogger({
    foreground: daemonChild === null,
    verbose: options.verbose,
    ...(daemonChild === null ? {} : { writeStderr: () => {} }),
  });
  // -l FILE (SPEC §13): every message also appended there; debug ones only with -v, as stderr.
  const logFile = options.logFile === null ? null : openLogFile(options.logFile);
  const log: typeof logger.log = (level, message) => {
    logger.log(level, message);
    if (logFile?.ok && (level !== "debug" || options.verbose > 0)) logFile.file.write(level, message);
  };
  const fail = (code: number, lines: readonly string[]): number => {
    for (const line of lines) log("err", line);
    if (daemonChild !== null) process.stderr.write(lines.map((l) => `pmtr: ${l}\n`).join(""));
    daemonChild?.reportFailure(code);
    logger.close();
    return code;
  };

  if (logFile && !logFile.ok) return fail(EXIT.runtime, [logFile.message]);
  log("notice", "pmtr: starting");
  if (notifier.problem) log("warning", notifier.problem);
  const isRoot = process.getuid?.() === 0;
  const loaded = readConfigFile(options.configPath, { enforceOwnership: isRoot });
  if (!loaded.ok) return fail(EXIT.config, loaded.messages);
  // Every start needs the spawn routine: a host where it cannot be built fails here, with why.
  const spawnProblem = spawnRoutineProblem();
  if (spawnProblem !== null) return fail(EXIT.runtime, [spawnProblem]);

  const pidfile = options.pidfile === null ? null : acquirePidfile(options.pidfile, process.pid);
  if (pidfile && !pidfile.ok) return fail(EXIT.runtime, [pidfile.message]);
  const releasePidfile = () => (pidfile?.ok ? pidfile.release() : undefined);

  // One pmtr per control socket (SPEC §11), decided before anything of the socket's is touched:
  // its job record, the socket file, the jobs.
  const socketPath = options.socketPath ?? defaultSocketPath(process.getuid?.() ?? 0, process.env);
  const locked = acquireInstanceLock(socketPath, process.pid);
  if (!locked.ok) {
    releasePidfile();
    return fail(EXIT.runtime, [locked.message]);
  }
  const lock = locked;

  const subreaper = becomeSubreaper();
  if (subreaper) log("warning", subreaper);

  // ---- the loop: handlers record, the loop acts -----------------------------------------
  // Signals that arrive during the awaited start-up steps (control socket, a previous
  // generation's jobs being stopped) stay recorded and are acted on once start-up is done.
  let startedUp = false;
  let wakeQueued = false;
  const wake = () => {
    if (wakeQueued || !startedUp) return;
    wakeQueued = true;
    setImmediate(loop);
  };
  const inbox = installSignals(wake);
  for (const problem of inbox.problems) log("warning", problem);
  let finished: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (finished = resolve));

  // ---- the world, as the core sees it ---------------------------------------------------
  let supervisor: Supervisor;
  const spawner = createSpawner({
    helperPath: process.execPath,
    onExit: (pid, status) => guard(() => supervisor.exited(pid, status)),
    onOutputLine: (job, pid, stream, line) => logger.jobLine(job.name, pid, stream, line),
  });
  // Captured outputs (rotate, console; SPEC §13) go through pipes pmtr reads: os/log/job-outputs.ts.
  const outputs = createJobOutputs(log);
  // Readiness probes, notify sockets and health checks (SPEC §12): os/probe/readiness.ts. Its
  // reports reach the supervisor on a later microtask, never inside the supervisor's own step.
  const later = (action: () => void) => queueMicrotask(() => guard(action));
  const readiness = createReadiness({
    events: {
      ready: (name) => later(() => supervisor.ready(name)),
      notReady: (name, reason) => later(() => supervisor.notReady(name, reason)),
      unhealthy: (name, pid, failures, error) => later(() => supervisor.unhealthy(name, pid, failures, error)),
      statusText: (name, text) => later(() => supervisor.statusText(name, text)),
    },
    notifyDir: `${socketPath}.notify`,
    spawn: (argv, job, onExit) => spawner.spawnProcess(argv, { user: job.user, env: job.env, dir: job.dir, name: `${job.name} probe`, onExit }),
    killGroup: (pgid) => ports.signalGroup(pgid, "SIGKILL"),
    warn: (message) => log("warning", message),
    now: () => performance.now(),
  });
  const reopenFiles = (): string[] => {
    const failures = outputs.reopen();
    const own = logFile?.ok ? logFile.file.reopen() : null;
    if (own !== null) failures.unshift(own);
    for (const failure of failures) log("err", failure);
    log("notice", msg.reopened(outputs.openFiles() + (logFile?.ok ? 1 : 0), failures.length));
    return failures;
  };
  inbox.onReopen(reopenFiles); // SIGUSR1: failures are logged by reopenFiles itself
  let alarm: Timer | null = null;
  let changeQueued = false;
  const hooks = createHookRunner(spawner, log);
  const ports: Ports = {
    now: () => performance.now(),
    wallClock: () => Date.now(),
    start: (job) => {
      const prepared = readiness.prepare(job);
      if (!prepared.ok) return Promise.resolve({ ok: false, step: prepared.step, error: prepared.error });
      return outputs.start(prepared.job, (io) => spawner.start(prepared.job, { io }));
    },
    runChanged: (spec, run) => readiness.runChanged(spec, run),
    signalGroup: (pgid, signal) => {
      try {
        signalGroup(pgid, signal);
      } catch (e) {
        log("err", `cannot send ${signal} to process group ${pgid}: ${errorText(e)}`);
      }
    },
    groupAlive: (pgid) => {
      try {
        return groupAlive(pgid);
      } catch {
        return false;
      }
    },
    digest: createDependsDigest({ enforceOwnership: isRoot, log }),
    setAlarm: (atMs) => {
      if (alarm !== null) clearTimeout(alarm);
      alarm = atMs === null ? null : setTimeout(() => {
        alarm = null;
        guard(() => supervisor.tick());
      }, Math.max(0, atMs - performance.now()));
    },
    log,
    jobEvent: (event) => hooks.dispatch(event, event.spec),
    changed: () => {
      if (changeQueued) return;
      changeQueued = true;
      queueMicrotask(() => {
        changeQueued = false;
        announce();
      });
    },
  };
  supervisor = new Supervisor(ports);

  // ---- configuration, reloads, depends ----------------------------------------------------
  let config: Config = loaded.config;
  let lastDigest: string | null = loaded.digest;
  let missingLogged = false;
  const dependsWatches = new Map<string, FileWatch>();
  const syncDependsWatches = () => {
    const wanted = new Set(supervisor.watchedPaths());
    for (const [path, watch] of dependsWatches) {
      if (!wanted.has(path)) {
        watch.close();
        dependsWatches.delete(path);
      }
    }
    for (const path of wanted) {
      if (!dependsWatches.has(path)) {
        const changed = settled(() => {
          dependsWatches.get(path)?.refresh();
          guard(() => supervisor.dependsChanged(path));
        });
        dependsWatches.set(path, watchFile(path, changed, (m) => log("warning", m)));
      }
    }
  };

  /** Reads the file and applies it if its content changed (or `forced`, for SIGHUP and
   *  `pmtr reload`). All or nothing: a file with errors changes nothing at all. */
  const rescan = (forced: boolean): ReloadOutcome => {
    if (!forced && !existsSync(options.configPath)) {
      if (!missingLogged) log("warning", `configuration file ${options.configPath} is missing, keeping the previous configuration`);
      missingLogged = true;
      return { applied: false, messages: [`${options.configPath}: missing`] };
    }
    const next = readConfigFile(options.configPath, { enforceOwnership: isRoot });
    // The include directories of the file as just read, valid or not (config-watch.ts).
    if (startedUp) configWatch.update(next.includes);
    if (!forced && next.digest !== null && next.digest === lastDigest) return { applied: true }; // touch, chmod
    missingLogged = false;
    log("notice", "rescanning job configuration");
    if (next.digest !== null) lastDigest = next.digest;
    if (!next.ok) {
      for (const line of next.messages) log("err", line);
      log("err", "keeping the previous configuration");
      metrics.reloaded(false);
      return { applied: false, messages: next.messages };
    }
    notifier.reloading();
    config = next.config;
    supervisor.apply(config);
    outputs.configure(config.jobs); // a changed rotate SIZE/keep applies in place
    udp.configure(config.reportTo, config.listenOn);
    metrics.reloaded(true);
    metrics.configure(config.metricsOn);
    syncDependsWatches();
    // No STATUS here: the jobs just started are not running yet; announce() sends the
    // summary once they are.
    notifier.ready();
    return { applied: true };
  };

  // ---- control surfaces ---------------------------------------------------------------------
  const target: ControlTarget = {
    snapshot: () => supervisor.snapshot(),
    setEnabled: (names, enabled) => supervisor.setEnabled(names, enabled),
    start: (names) => supervisor.start(names),
    stop: (names) => supervisor.stop(names),
    restart: (names) => supervisor.restart(names),
    reload: async () => rescan(true),
    config: () => config.jobs,
    reopen: reopenFiles,
  };
  const udp = new UdpControl(target, log);
  const metrics = new MetricsControl(target, log);
  const started = await startControlServer(socketPath, target, log);
  if (!started.ok) {
    inbox.close();
    lock.release();
    releasePidfile();
    return fail(EXIT.runtime, [started.message]);
  }
  const server: ControlServer = started.server;

  // The lock makes this pmtr the owner of the job record beside the socket.
  const recorder = createRecorder(recordPath(server.path), log);
  await stopPreviousGeneration(recordPath(server.path), log);

  let stopping = false;
  let readyTold = false;
  // The job record is rewritten at most once per turn of the event loop, and not while
  // shutting down (it is removed at the end): a burst of N changes costs one write, not N.
  let recordQueued = false;
  const writeRecord = () => {
    recordQueued = false;
    if (!stopping) recorder.write(supervisor.processes());
  };
  function summary(): string {
    const n = supervisor.runningCount();
    return `${n} ${n === 1 ? "job" : "jobs"} running`;
  }
  function announce(): void {
    if (recorder && !recordQueued && !stopping) {
      recordQueued = true;
      setImmediate(writeRecord);
    }
    udp.changed();
    server.changed();
    if (!readyTold && supervisor.settled()) {
      readyTold = true;
      notifier.ready(summary());
    } else if (notifier.enabled) notifier.status(summary());
  }

  // ---- start ----------------------------------------------------------------------------------
  const configWatch = watchConfig(options.configPath, settled(() => {
    configWatch.refresh();
    guard(() => rescan(false));
  }), (m) => log("warning", m));
  configWatch.update(loaded.includes);
  udp.configure(config.reportTo, config.listenOn);
  metrics.configure(config.metricsOn);
  supervisor.apply(config);
  syncDependsWatches();
  log("notice", msg.managing(config.jobs.length));
  daemonChild?.reportReady();
  const watchdog = notifier.watchdogMs === null ? null : setInterval(() => notifier.watchdog(), notifier.watchdogMs);
  // Signal handlers do not keep the event loop alive; this never-due timer does.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  startedUp = true;
  wake();

  function loop(): void {
    wakeQueued = false;
    const got = inbox.take();
    if (got.reap) {
      guard(() => {
        reapOrphans(supervisor.jobPids());
        supervisor.reaped();
      });
    }
    for (const name of got.ignored) log("notice", msg.ignoringSignal(name));
    if (got.reopen) {
      log("notice", msg.reopening);
      for (const error of inbox.reopen()) internalError(error);
    }
    if (got.shutdown !== null && !stopping) {
      stopping = true;
      log("notice", `pmtr: exiting on signal ${got.shutdown}`);
      notifier.stopping();
      // systemd kills a unit whose stop outlasts TimeoutStopSec (90 s by default): a chain of
      // `after` dependants stopping one after another may need longer (SPEC §12).
      notifier.extendTimeout(shutdownBoundMs(supervisor.jobs()));
      configWatch.close();
      for (const watch of dependsWatches.values()) watch.close();
      udp.close();
      metrics.close();
      hooks.close();
      void supervisor.shutdown().then(async () => {
        readiness.close();
        // The jobs are gone: their last lines are still in the pipes (or held by children
        // that outlived them, which get a moment at most).
        await outputs.drain(OUTPUT_DRAIN_MS);
        recorder.remove();
        server.close();
        lock.release();
        releasePidfile();
        if (watchdog) clearInterval(watchdog);
        clearInterval(keepAlive);
        notifier.close();
        logger.close();
        if (logFile?.ok) logFile.file.close();
        finished(EXIT.ok);
      });
      return;
    }
    if (got.rescan && !stopping) guard(() => rescan(true));
  }

  /** An event handler that throws must not take pmtr (and supervision of every job) down. */
  function guard(action: () => void): void {
    try {
      action();
    } catch (e) {
      internalError(e);
    }
  }
  function internalError(e: unknown): void {
    log("err", `internal error (pmtr keeps running): ${errorText(e)}`);
  }
  process.on("uncaughtException", internalError);
  process.on("unhandledRejection", internalError);

  return exited;
}

/** `action`, run once events have stopped for SETTLE_QUIET_MS (or SETTLE_MAX_MS after the
 *  first of a burst). A timer exists only while events are arriving. */
function settled(action: () => void): () => void {
  let timer: Timer | null = null;
  let firstAt = 0;
  const fire = () => {
    timer = null;
    action();
  };
  return () => {
    const now = performance.now();
    if (timer === null) firstAt = now;
    else clearTimeout(timer);
    timer = setTimeout(fire, Math.max(0, Math.min(SETTLE_QUIET_MS, firstAt + SETTLE_MAX_MS - now)));
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
