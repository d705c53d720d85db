// The environment of one run of a job (SPEC §3): pmtr's environment, then, with `user`, HOME,
// USER, LOGNAME and SHELL of that user, then the job's `env` entries in file order, so an
// `env` entry wins over both. Pure.

export interface UserVars {
  readonly name: string;
  readonly home: string;
  readonly shell: string;
}

/** Ordered name -> value; a later setting of a name replaces the value where it stands. */
export function jobEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  entries: readonly string[],
  user: UserVars | null,
): Map<string, string> {
  const env = new Map<string, string>();
  for (const [name, value] of Object.entries(base)) if (value !== undefined) env.set(name, value);
  if (user !== null) {
    env.set("HOME", user.home);
    env.set("USER", user.name);
    env.set("LOGNAME", user.name);
    env.set("SHELL", user.shell);
  }
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? "" : entry.slice(eq + 1));
  }
  return env;
}

/** "NAME=VALUE" strings for execve. */
export function envStrings(env: Map<string, string>): string[] {
  return Array.from(env, ([name, value]) => `${name}=${value}`);
}

/** `path` as the job sees it: relative paths are relative to its dir. Not normalised, so that
 *  "../x" under a symlinked dir resolves as it does after chdir. */
export function shownPath(dir: string, path: string): string {
  return path.startsWith("/") ? path : dir.endsWith("/") ? `${dir}${path}` : `${dir}/${path}`;
}
