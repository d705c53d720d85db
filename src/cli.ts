// Pure command-line parsing: argv in, options or a usage error out. No I/O, no exits.
// getopt(3) rules, as the original pmtr used: flags may be bundled (`-Fv`), an option's
// argument may be attached (`-c/etc/x.conf`) or separate, `--` ends the options.

export const DEFAULT_CONFIG = "/etc/pmtr.conf";

export interface Options {
  readonly foreground: boolean;
  readonly verbose: number;
  readonly configPath: string;
  readonly pidfile: string | null;
  readonly checkOnly: boolean;
}

export type Command =
  | { readonly kind: "run"; readonly options: Options }
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "usage-error"; readonly message: string };

export const USAGE = `usage: pmtr [-F] [-v[v]] [-c FILE] [-p PIDFILE] [-t] [-h] [--version]

  -F          stay in the foreground (implied by -t and when pmtr is PID 1)
  -c FILE     configuration file (default ${DEFAULT_CONFIG})
  -p PIDFILE  write pmtr's pid to PIDFILE; removed on exit
  -t          check the configuration and exit: 0 valid, 1 invalid
  -v          verbose (-vv: more); with -t, print one line per job
  -h, --help  show this help
  --version   print pmtr's version

exit status: 0 ok, 1 configuration error, 2 usage error, 3 runtime failure at start
             (pidfile, lock, socket)
`;

export function parseArgs(args: readonly string[]): Command {
  let foreground = false;
  let verbose = 0;
  let configPath = DEFAULT_CONFIG;
  let pidfile: string | null = null;
  let checkOnly = false;

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      if (i + 1 < args.length) return usageError(`unexpected argument "${args[i + 1]}"`);
      break;
    }
    if (arg === "--help") return { kind: "help" };
    if (arg === "--version") return { kind: "version" };
    if (!arg.startsWith("-") || arg === "-" || arg.startsWith("--")) {
      return usageError(arg.startsWith("--") ? `unknown option "${arg}"` : `unexpected argument "${arg}"`);
    }
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      switch (flag) {
        case "F": foreground = true; break;
        case "v": verbose++; break;
        case "t": checkOnly = true; break;
        case "h": return { kind: "help" };
        case "c":
        case "p": {
          const attached = arg.slice(j + 1);
          const value = attached !== "" ? attached : args[++i];
          if (value === undefined || value === "") return usageError(`option -${flag} needs a file name`);
          if (flag === "c") configPath = value;
          else pidfile = value;
          j = arg.length;
          break;
        }
        default:
          return usageError(`unknown option "-${flag}"`);
      }
    }
  }
  return { kind: "run", options: { foreground: foreground || checkOnly, verbose, configPath, pidfile, checkOnly } };
}

function usageError(message: string): Command {
  return { kind: "usage-error", message };
}
