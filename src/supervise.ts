// pmtr running: the wiring between the supervision core (src/core) and the world (src/os,
// src/control). Start-up in SPEC order — detach, log, configuration, pidfile, signals,
// control surfaces, jobs — then one event loop where signal handlers only record and this
// module acts, and finally a clean shutdown.
//
// The steps it is made of live in src/run/: os-ports.ts (the core's Ports from src/os),
// config-reload.ts (rescan: all or nothing), depends-watches.ts, announce.ts (job record,
// reports, sd_notify after each burst of changes), settle-timer.ts (a save is applied once
// the writer is done).
//
// Start-up failures return 1 (configuration) or 3 (pidfile, another pmtr on the control socket, the socket);
// after start-up nothing a job, a file or a datagram does can make pmtr exit.

import type { Options } from "./cli.ts";
import type { Config } from "./config/model.ts";
import { defaultSocketPath } from "./control/socket-path.ts";
import { startControlServer, type ControlServer } from "./control/socket-server.ts";
import type { ControlTarget } from "./control/target.ts";
import { MetricsControl } from "./control/metrics.ts";
import { UdpControl } from "./control/udp.ts";
import { msg } from "./core/messages.ts";
import { shutdownBoundMs } from "./core/shutdown-bound.ts";
import { Supervisor } from "./core/supervisor.ts";
import { EXIT } from "./exit.ts";
import { readConfigFile } from "./os/config/config-file.ts";
import { watchConfig } from "./os/config/config-watch.ts";
import { createRecorder, recordPath, stopPreviousGeneration } from "./os/self/generation.ts";
import { detach, takeDaemonChild } from "./os/self/daemon.ts";
import { createHookRunner } from "./os/spawn/hooks.ts";
import { createLogger } from "./os/log/logger.ts";
import { acquireInstanceLock } from "./os/self/instance-lock.ts";
import { detachArgs } from "./os/log/detach-log.ts";
import { createJobOutputs } from "./os/log/job-outputs.ts";
import { openLogFile } from "./os/log/log-file.ts";
import { acquirePidfile } from "./os/self/pidfile.ts";
import { becomeSubreaper, reapOrphans } from "./os/proc/reaper.ts";
import { createReadiness } from "./os/probe/readiness.ts";
import { prestartRuntimeThreads, reexecWithRuntimeOptions } from "./os/self/runtime-threads.ts";
import { createNotifier } from "./os/self/sd-notify.ts";
import { installSignals } from "./os/self/signals.ts";
import { createSpawner, spawnRoutineProblem } from "./os/spawn/index.ts";
import { createAnnouncer } from "./run/announce.ts";
import { createReloader } from "./run/config-reload.ts";
import { DependsWatches } from "./run/depends-watches.ts";
import { createOsPorts } from "./run/os-ports.ts";
import { errorText, settled } from "./run/settle-timer.ts";

/** At shutdown, how long captured output still being written is waited for. */
const OUTPUT_DRAIN_MS = 1000;

export async function supervise(options: Options, args: readonly string[]): Promise<number> {
  // First, before the environment is read and changed (src/os/self/runtime-threads.ts).
  reexecWithRuntimeOptions();
  const daemonChild = takeDaemonChild();
  const isPid1 = process.pid === 1;
  // Without -F the command detaches; as PID 1 there is nothing to detach from (SPEC §9).
  if (!options.foreground && !isPid1 && daemonChild === null) return detach(detachArgs(args, options, (t) => process.stderr.write(t)));

  // Before any job can use up a task limit (issue 12, fault 1; src/os/self/runtime-threads.ts).
  await prestartRuntimeThreads();
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

  // The lock makes this pmtr the owner of the job record beside the socket. Nothing is written
  // to it before the first start, after a previous generation's record has been acted on.
  const recorder = createRecorder(recordPath(socketPath), log);

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
    // With no syslog to take them, `out syslog` lines also go to -l FILE: in the background
    // stderr is /dev/null, and a detached pmtr always has a FILE then (detach-log.ts).
    onOutputLine: (job, pid, stream, line) => {
      if (!logger.jobLine(job.name, pid, stream, line) && logFile?.ok) logFile.file.write(stream === "out" ? "info" : "err", line, job.name, pid);
    },
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
    log("notice", msg.reopened(outputs.openFiles() + (logFile?.ok ? 1 : 0) - failures.length, failures.length));
    return failures;
  };
  inbox.onReopen(reopenFiles); // SIGUSR1: failures are logged by reopenFiles itself
  const hooks = createHookRunner(spawner, log);
  const ports = createOsPorts({
    isRoot,
    log,
    start: (job) => {
      const prepared = readiness.prepare(job);
      if (!prepared.ok) return Promise.resolve({ ok: false, step: prepared.step, error: prepared.error });
      return outputs.start(prepared.job, (io) => spawner.start(prepared.job, { io }));
    },
    runChanged: (spec, run) => readiness.runChanged(spec, run),
    jobEvent: (event) => hooks.dispatch(event, event.spec),
    leaderStarted: (name, pid) => recorder.started(name, pid),
    leaderExited: (pid) => recorder.ended(pid),
    onAlarm: () => guard(() => supervisor.tick()),
    onChanged: () => announce(),
  });
  supervisor = new Supervisor(ports);

  // ---- configuration, reloads, depends ----------------------------------------------------
  let config: Config = loaded.config;
  const dependsWatches = new DependsWatches((path) => guard(() => supervisor.dependsChanged(path)), log);
  const syncDependsWatches = () => dependsWatches.sync(supervisor.watchedPaths());
  const rescan = createReloader({
    configPath: options.configPath,
    isRoot,
    initialDigest: loaded.digest,
    log,
    // The include directories of the file as just read, valid or not (config-watch.ts).
    onIncludes: (includes) => {
      if (startedUp) configWatch.update(includes);
    },
    rejected: () => metrics.reloaded(false),
    apply: (next) => {
      notifier.reloading();
      config = next;
      supervisor.apply(config);
      outputs.configure(config.jobs); // a changed rotate SIZE/keep applies in place
      udp.configure(config.reportTo, config.listenOn);
      metrics.reloaded(true);
      metrics.configure(config.metricsOn);
      syncDependsWatches();
      // No STATUS here: the jobs just started are not running yet; announce() sends the
      // summary once they are.
      notifier.ready();
    },
  });

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

  await stopPreviousGeneration(recordPath(server.path), log);

  let stopping = false;
  const announce = createAnnouncer({ supervisor, udp, server, notifier });

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
        // -v: what pmtr reaped that was not a job (a job's child orphaned when the job died).
        for (const pid of reapOrphans(supervisor.jobPids())) log("debug", `reaped process ${pid}, left behind by a job`);
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
      recorder.stopping();
      // systemd kills a unit whose stop outlasts TimeoutStopSec (90 s by default): a chain of
      // `after` dependants stopping one after another may need longer (SPEC §12).
      notifier.extendTimeout(shutdownBoundMs(supervisor.jobs()));
      configWatch.close();
      dependsWatches.close();
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
