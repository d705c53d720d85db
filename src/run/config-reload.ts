// Reading the configuration again (SPEC §6): on a settled save, SIGHUP or `pmtr reload`. All or
// nothing: a file with errors changes nothing at all; a touch or chmod (same content) is not
// a change; a deleted file keeps the previous configuration.

import { existsSync } from "node:fs";
import type { Config } from "../config/model.ts";
import type { ReloadOutcome } from "../control/target.ts";
import type { LogLevel } from "../core/ports.ts";
import { readConfigFile } from "../os/config/config-file.ts";

export interface ReloaderOptions {
  readonly configPath: string;
  readonly isRoot: boolean;
  /** The digest of the configuration applied at start. */
  readonly initialDigest: string | null;
  readonly log: (level: LogLevel, message: string) => void;
  /** The include patterns of the file as just read, valid or not (for the watch). */
  readonly onIncludes: (includes: readonly string[]) => void;
  /** A valid new configuration: apply it. */
  readonly apply: (config: Config) => void;
  /** The file had errors: nothing changed. */
  readonly rejected: () => void;
}

/** Returns rescan(forced): reads the file and applies it if its content changed (or always,
 *  when `forced`: SIGHUP and `pmtr reload`). */
export function createReloader(opts: ReloaderOptions): (forced: boolean) => ReloadOutcome {
  const { configPath, log } = opts;
  let lastDigest = opts.initialDigest;
  let missingLogged = false;
  return (forced) => {
    if (!forced && !existsSync(configPath)) {
      if (!missingLogged) log("warning", `configuration file ${configPath} is missing, keeping the previous configuration`);
      missingLogged = true;
      return { applied: false, messages: [`${configPath}: missing`] };
    }
    const next = readConfigFile(configPath, { enforceOwnership: opts.isRoot });
    opts.onIncludes(next.includes);
    if (!forced && next.digest !== null && next.digest === lastDigest) {
      log("debug", `${configPath} was written but its content is unchanged: nothing to apply`); // touch, chmod
      return { applied: true };
    }
    missingLogged = false;
    log("notice", "rescanning job configuration");
    if (next.digest !== null) lastDigest = next.digest;
    if (!next.ok) {
      for (const line of next.messages) log("err", line);
      log("err", "keeping the previous configuration");
      opts.rejected();
      return { applied: false, messages: next.messages };
    }
    opts.apply(next.config);
    return { applied: true };
  };
}
