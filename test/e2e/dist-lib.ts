// Shared by the distribution tests (dist-*.test.ts): `make` in the repository, the release
// artifacts' names, and tools that must be present (installed by .ci/run from Debian).

import { resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };

export const ROOT = resolve(import.meta.dir, "../..");
export const VERSION = pkg.version;
export const ARTIFACT = (arch: "x64" | "arm64") => resolve(ROOT, `dist/pmtr-${VERSION}-linux-${arch}`);
export const DEB = (arch: "amd64" | "arm64") => resolve(ROOT, `dist/pmtr_${VERSION}_${arch}.deb`);

/** A tool a test cannot do without: its path, or a failure naming the Debian package. */
export function requireTool(tool: string, debianPackage: string): string {
  const path = Bun.which(tool);
  if (path === null) throw new Error(`${tool} is missing: install Debian's ${debianPackage} (.ci/run installs it)`);
  return path;
}

export interface Ran {
  code: number;
  out: string;
  stdout: string;
}

/** Run a command to completion (killed after `timeoutMs`, a deadline, not a timing claim). */
export function run(argv: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Ran {
  const p = Bun.spawnSync(argv, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdout: "pipe", stderr: "pipe", timeout: opts.timeoutMs ?? 300_000 });
  const stdout = p.stdout.toString();
  return { code: p.exitCode ?? -1, out: stdout + p.stderr.toString(), stdout };
}

/** `make -s ARGS` in the repository; `-o dist/pmtr` keeps it from rebuilding the binary the
 *  rest of the suite is testing. Throws with make's output when it fails. */
export function make(...args: string[]): string {
  const r = run(["make", "-s", "-C", ROOT, "-o", "dist/pmtr", ...args]);
  if (r.code !== 0) throw new Error(`make ${args.join(" ")} exited ${r.code}:\n${r.out}`);
  return r.out;
}
