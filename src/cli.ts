// Pure command-line parsing: argv in, options or a usage error out. No I/O, no exits.
// getopt(3) rules, as the original pmtr used: flags may be bundled (`-Fv`), an option's
// argument may be attached (`-c/etc/x.conf`) or separate, `--` ends the options.
// A first word naming a client command (`pmtr status web`) turns the rest into that command's
// arguments: it talks to the running pmtr instead of being one.

import type { ControlRequest } from "./control/protocol.ts";
import { parseSignal } from "./control/signals.ts";

export const DEFAULT_CONFIG = "/etc/pmtr.conf";

export interface Options {
  readonly foreground: boolean;
  readonly verbose: number;
  readonly configPath: string;
  readonly pidfile: string | null;
  readonly checkOnly: boolean;
  /** `-t --diff`: print what applying the file would do to the running pmtr (SPEC §15). */
  readonly diff: boolean;
  /** `-s PATH`: the control socket; null for the default (see control/socket-path.ts). */
  readonly socketPath: string | null;
  /** `-l FILE`: pmtr's own messages also appended there (SPEC §13); null when not given. */
  readonly logFile: string | null;
}

export const CLIENT_COMMANDS = ["status", "start", "stop", "restart", "signal", "reload", "reopen", "logs"] as const;

export type Command =
  | { readonly kind: "run"; readonly options: Options }
  /** A client command for the running pmtr; `json` only for status. */
  | { readonly kind: "client"; readonly request: ControlRequest; readonly json: boolean; readonly socketPath: string | null }
  /** `pmtr logs NAME [-n N] [-f]`: reads the job's files itself (control/logs-client.ts). */
  | { readonly kind: "logs"; readonly name: string; readonly lines: number; readonly follow: boolean; readonly configPath: string }
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "usage-error"; readonly message: string };

export const USAGE = `usage: pmtr [-F] [-v[v]] [-c FILE] [-p PIDFILE] [-s SOCKET] [-l LOGFILE] [-t [--diff]] [-h] [--version]
       pmtr [-s SOCKET] status [--json] [NAME...|--all]
       pmtr [-s SOCKET] start|stop|restart NAME...|--all
       pmtr [-s SOCKET] signal SIG NAME...
       pmtr [-s SOCKET] reload|reopen
       pmtr [-c FILE] logs NAME [-n N] [-f]

  -F          stay in the foreground (implied by -t and when pmtr is PID 1)
  -c FILE     configuration file (default ${DEFAULT_CONFIG})
  -p PIDFILE  write pmtr's pid to PIDFILE; removed on exit
  -s SOCKET   control socket (default /run/pmtr.sock as root, else
              $XDG_RUNTIME_DIR/pmtr.sock); the client commands take it too
  -l LOGFILE  also append pmtr's own messages to LOGFILE (reopened on SIGUSR1)
  -t          check the configuration and exit: 0 valid, 1 invalid
  --diff      with -t: print what applying the file would do to the running pmtr
  -v          verbose: also log debug messages; with -t, print one line per job
  -h, --help  show this help
  --version   print pmtr's version

exit status: 0 ok, 1 configuration error, 2 usage error, 3 runtime failure at start
             (pidfile, lock, socket)

client commands talk to the running pmtr:
  status [--json] [NAME...]  table of jobs with why each is in its state; with NAMEs
                             everything about each (JSON: every field, for scripts)
  start|stop|restart NAME... act at once and report the outcome: a start succeeds once
                             the job has run (been ready) for 1 s, or exited 0 for good
  --all                      stands for every job (status, start, stop, restart)
  signal SIG NAME...         send SIG (HUP, USR1, ...) to each job's process group
  reload                     rescan the configuration file
  reopen                     reopen pmtr's log file and rotated job outputs (logrotate)
  logs NAME [-n N] [-f]      last N (20) lines of the job's out and err files; -f follows
client exit status: 0 ok (status: all named jobs running), 1 an action failed,
  2 usage error, 3 status: some job not running, 4 unknown job or pmtr not running
`;

export function parseArgs(args: readonly string[]): Command {
  let foreground = false;
  let verbose = 0;
  let configPath = DEFAULT_CONFIG;
  let pidfile: string | null = null;
  let checkOnly = false;
  let diff = false;
  let socketPath: string | null = null;
  let logFile: string | null = null;
  /** Daemon-only flags seen, so `pmtr -F status` can be refused by name. */
  const daemonFlags: string[] = [];

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      if (i + 1 < args.length) return usageError(`unexpected argument "${args[i + 1]}"`);
      break;
    }
    if (arg === "--help") return { kind: "help" };
    if (arg === "--version") return { kind: "version" };
    if (arg === "--diff") {
      diff = true;
      continue;
    }
    if (isClientCommand(arg)) {
      // `pmtr -c FILE logs web`: logs reads the configuration file (see parseLogs).
      const refused = daemonFlags.find((f) => !(arg === "logs" && f === "c"));
      if (refused !== undefined) return usageError(`option -${refused} does not apply to "pmtr ${arg}"`);
      if (arg === "logs") return parseLogs(args.slice(i + 1), configPath);
      return parseClient(arg, args.slice(i + 1), socketPath);
    }
    if (!arg.startsWith("-") || arg === "-" || arg.startsWith("--")) {
      return usageError(arg.startsWith("--") ? `unknown option "${arg}"` : `unknown command "${arg}" (expected ${CLIENT_COMMANDS.join(", ")})`);
    }
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      if (flag !== "s" && flag !== "h") daemonFlags.push(flag);
      switch (flag) {
        case "F": foreground = true; break;
        case "v": verbose++; break;
        case "t": checkOnly = true; break;
        case "h": return { kind: "help" };
        case "c":
        case "p":
        case "l":
        case "s": {
          const attached = arg.slice(j + 1);
          const value = attached !== "" ? attached : args[++i];
          if (value === undefined || value === "") return usageError(`option -${flag} needs a file name`);
          if (flag === "c") configPath = value;
          else if (flag === "p") pidfile = value;
          else if (flag === "l") logFile = value;
          else socketPath = value;
          j = arg.length;
          break;
        }
        default:
          return usageError(`unknown option "-${flag}"`);
      }
    }
  }
  if (diff && !checkOnly) return usageError("--diff goes with -t (pmtr -t --diff -c FILE)");
  return { kind: "run", options: { foreground: foreground || checkOnly, verbose, configPath, pidfile, checkOnly, diff, socketPath, logFile } };
}

type ClientName = Exclude<(typeof CLIENT_COMMANDS)[number], "logs">;

/** The commands `--all` applies to. */
const ALL_COMMANDS: ReadonlySet<ClientName> = new Set(["status", "start", "stop", "restart"]);

function isClientCommand(word: string): word is (typeof CLIENT_COMMANDS)[number] {
  return (CLIENT_COMMANDS as readonly string[]).includes(word);
}

/** `pmtr [-s PATH] NAME ARGS...`: -s, --json (status) and -h may also follow the command. */
function parseClient(command: ClientName, args: readonly string[], socketPathBefore: string | null): Command {
  let socketPath = socketPathBefore;
  let json = false;
  let all = false;
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      words.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") return { kind: "help" };
    if (arg === "--json" && command === "status") {
      json = true;
    } else if (arg === "--all" && ALL_COMMANDS.has(command)) {
      all = true;
    } else if (arg.startsWith("-s")) {
      const value = arg.length > 2 ? arg.slice(2) : args[++i];
      if (value === undefined || value === "") return usageError("option -s needs a file name");
      socketPath = value;
    } else if (arg.startsWith("-") && arg !== "-") {
      return usageError(`unknown option "${arg}" for "pmtr ${command}"`);
    } else {
      words.push(arg);
    }
  }
  const bad = words.find((w) => !/^\S+$/.test(w));
  if (bad !== undefined) return usageError(`${JSON.stringify(bad)} is not a job name`);
  const client = (request: ControlRequest): Command => ({ kind: "client", request, json, socketPath });
  if (all && words.length > 0) return usageError(`pmtr ${command}: give job names or --all, not both`);
  switch (command) {
    case "status":
      return client({ op: "status", names: words, ...(all ? { all } : {}) });
    case "reload":
    case "reopen":
      if (words.length > 0) return usageError(`pmtr ${command} takes no arguments (got "${words[0]}")`);
      return client({ op: command });
    case "signal": {
      const [sigText, ...names] = words;
      if (sigText === undefined) return usageError("pmtr signal needs a signal and at least one job name (e.g. pmtr signal HUP web)");
      const signal = parseSignal(sigText);
      if (signal === null) return usageError(`unknown signal "${sigText}" (use a name such as HUP, USR1, TERM, or a number)`);
      if (names.length === 0) return usageError(`pmtr signal ${sigText} needs at least one job name`);
      return client({ op: "signal", signal, names });
    }
    default:
      if (all) return client({ op: command, names: [], all });
      if (words.length === 0) return usageError(`pmtr ${command} needs at least one job name (or --all)`);
      return client({ op: command, names: words });
  }
}

/** `pmtr logs [-c FILE] NAME [-n N] [-f]`. */
function parseLogs(args: readonly string[], configBefore: string): Command {
  let configPath = configBefore;
  let lines = 20;
  let follow = false;
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h" || arg === "--help") return { kind: "help" };
    if (arg === "-f") follow = true;
    else if (arg.startsWith("-n") || arg.startsWith("-c")) {
      const value = arg.length > 2 ? arg.slice(2) : args[++i];
      if (arg.startsWith("-c")) {
        if (value === undefined || value === "") return usageError("option -c needs a file name");
        configPath = value;
      } else {
        if (value === undefined || !/^\d+$/.test(value)) return usageError(`pmtr logs -n needs a number of lines (got ${value === undefined ? "nothing" : JSON.stringify(value)})`);
        lines = Number(value);
      }
    } else if (arg.startsWith("-") && arg !== "-") return usageError(`unknown option "${arg}" for "pmtr logs"`);
    else words.push(arg);
  }
  if (words.length !== 1) return usageError(`pmtr logs needs exactly one job name (got ${words.length})`);
  return { kind: "logs", name: words[0]!, lines, follow, configPath };
}

function usageError(message: string): Command {
  return { kind: "usage-error", message };
}
