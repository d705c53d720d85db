// `make deb`: the package's contents, lintian (Debian's lintian, installed by .ci/run) with no
// error and only the warnings the README lists, and its life cycle — install, upgrade over a
// running pmtr, remove, purge — in a throwaway root: `dpkg --root DIR --force-script-chrootless`
// runs the maintainer scripts on this machine with DPKG_ROOT=DIR, and they leave this
// machine's services alone when DPKG_ROOT is set. `--force-depends`: the throwaway root's
// package database has no libc6; the binary uses this machine's.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { Pmtr, isAlive, join, readOr, rmSync, startedPids, tempDir, waitFor } from "../helpers.ts";
import { ARTIFACT, DEB, ROOT, VERSION, make, requireTool, run } from "./dist-lib.ts";

const SLOW_MS = 300_000;
const HOST_ARCH = process.arch === "arm64" ? "arm64" : "amd64";
const HOST_ARTIFACT = ARTIFACT(HOST_ARCH === "arm64" ? "arm64" : "x64");
const dirs: string[] = [];

beforeAll(() => {
  make("deb");
}, 600_000);
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Every file and symlink under `dir` (the dpkg database aside), as "0755 usr/bin/pmtr". */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (relative(dir, p) === "var/lib/dpkg") continue;
      if (e.isDirectory()) walk(p);
      else out.push(`${(statSync(p).mode & 0o7777).toString(8).padStart(4, "0")} ${relative(dir, p)}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** An empty root with a dpkg database, and dpkg working on it. */
function throwawayRoot(): { root: string; dpkg: (...args: string[]) => string } {
  const root = tempDir("pmtr-deb-root-");
  dirs.push(root);
  for (const d of ["info", "updates", "triggers"]) mkdirSync(join(root, "var/lib/dpkg", d), { recursive: true });
  for (const f of ["status", "available"]) writeFileSync(join(root, "var/lib/dpkg", f), "");
  const dpkg = (...args: string[]) => {
    const r = run(["dpkg", `--root=${root}`, "--force-script-chrootless", "--force-depends", "--log=/dev/null", ...args], { env: { DEBIAN_FRONTEND: "noninteractive" } });
    if (r.code !== 0) throw new Error(`dpkg ${args.join(" ")} exited ${r.code}:\n${r.out}`);
    return r.out;
  };
  return { root, dpkg };
}

const PACKAGE_FILES = [
  "0755 etc/init.d/pmtr",
  "0644 lib/systemd/system/pmtr.service",
  "0755 usr/bin/pmtr",
  "0644 usr/share/bash-completion/completions/pmtr",
  "0644 usr/share/doc/pmtr/README.Debian",
  "0644 usr/share/doc/pmtr/changelog.gz",
  "0644 usr/share/doc/pmtr/copyright",
  "0644 usr/share/doc/pmtr/examples/pmtr.conf",
  "0644 usr/share/lintian/overrides/pmtr",
  "0644 usr/share/man/man5/pmtr.conf.5.gz",
  "0644 usr/share/man/man8/pmtr.8.gz",
].sort();

describe("make deb", () => {
  test("control fields: version from package.json, architecture of the target, libc dependency", () => {
    const field = (name: string) => run(["dpkg-deb", "-f", DEB(HOST_ARCH), name]).stdout.trim();
    expect(field("Package")).toBe("pmtr");
    expect(field("Version")).toBe(VERSION);
    expect(field("Architecture")).toBe(HOST_ARCH);
    expect(field("Depends")).toMatch(/^libc6 \(>= [\d.]+\)$/);
    expect(field("Description")).toContain("never");
  });

  test("lintian: no error, and only the warnings the README lists with their reasons", () => {
    const lintian = requireTool("lintian", "lintian");
    const r = run([lintian, "--pedantic", "--no-tag-display-limit", DEB(HOST_ARCH)], { timeoutMs: SLOW_MS });
    const tags = (kind: string) => [...new Set(r.stdout.split("\n").filter((l) => l.startsWith(`${kind}: `)).map((l) => l.split(" ")[2]!))].sort();
    expect(tags("E")).toEqual([]);
    const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
    const listed = [...readme.matchAll(/^- `([a-z0-9.-]+)` \(lintian warning\):/gm)].map((m) => m[1]!).sort();
    expect(tags("W")).toEqual(listed);
    // The overrides are used: these two would otherwise be reported.
    expect(r.stdout).not.toContain("unstripped-binary-or-object");
    expect(r.stdout).not.toContain("embedded-library");
  }, SLOW_MS);

  test("install, upgrade over a running pmtr, remove, purge: only what policy keeps is left", async () => {
    const { root, dpkg } = throwawayRoot();
    const conf = join(root, "etc/pmtr.conf");
    mkdirSync(join(root, "etc"), { recursive: true });
    const confText = "job {\n  name sleeper\n  cmd /bin/sleep 600\n}\n";
    writeFileSync(conf, confText);

    dpkg("-i", DEB(HOST_ARCH));
    expect(dpkg("-s", "pmtr")).toContain("Status: install ok installed");
    expect(listing(root)).toEqual([...PACKAGE_FILES, "0644 etc/pmtr.conf"].sort());
    // Nothing enabled: no runlevel links, no systemd wants links; the binary as built (unstripped).
    expect(readFileSync(join(root, "usr/bin/pmtr")).equals(readFileSync(HOST_ARTIFACT))).toBe(true);
    expect(run([join(root, "usr/bin/pmtr"), "--version"]).stdout).toBe(`pmtr ${VERSION}\n`);
    expect(run(["gzip", "-dc", join(root, "usr/share/doc/pmtr/changelog.gz")]).stdout).toStartWith(`pmtr (${VERSION}) `);

    // A pmtr running from the installed binary is neither stopped nor restarted by an upgrade.
    const sock = join(root, "run/pmtr.sock");
    mkdirSync(join(root, "run"), { recursive: true });
    const pmtr = new Pmtr(["-F", "-c", conf, "-s", sock], { wrap: ["sh", "-c", `exec "${join(root, "usr/bin/pmtr")}" "$@"`] });
    let job = 0;
    try {
      await pmtr.waitLog(/started job sleeper \[\d+\]/, 60_000);
      job = startedPids(pmtr.stderr, "sleeper")[0]!;
      dpkg("-i", DEB(HOST_ARCH));
      expect(dpkg("-s", "pmtr")).toContain("Status: install ok installed");
      expect(pmtr.proc.exitCode).toBeNull();
      expect(isAlive(job)).toBe(true);
      expect(startedPids(pmtr.stderr, "sleeper")).toEqual([job]);
      expect(await pmtr.stop(60_000)).toBe(0);
      await waitFor("the job stopped with pmtr", () => !isAlive(job), 60_000);
    } finally {
      await pmtr.stop(60_000);
      if (job > 0 && isAlive(job)) process.kill(job, "SIGKILL");
    }
    rmSync(join(root, "run"), { recursive: true, force: true });

    dpkg("-r", "pmtr");
    // Policy keeps a removed package's conffiles until purge; the operator's file stays.
    expect(listing(root)).toEqual(["0644 etc/pmtr.conf", "0755 etc/init.d/pmtr"]);
    dpkg("-P", "pmtr");
    expect(listing(root)).toEqual(["0644 etc/pmtr.conf"]);
    expect(readOr(conf)).toBe(confText);
    // No directory of the package's is left either.
    expect(readdirSync(root).sort()).toEqual(["etc", "var"]);
    expect(readdirSync(join(root, "etc"))).toEqual(["pmtr.conf"]);
    expect(readdirSync(join(root, "var/lib/dpkg/info")).filter((f) => f.startsWith("pmtr."))).toEqual([]);
  }, SLOW_MS);

  test("a stripped binary is plain bun, and the postinst refuses it loudly", () => {
    const strip = requireTool("strip", "binutils");
    const root = tempDir("pmtr-deb-strip-");
    dirs.push(root);
    const binary = join(root, "usr/bin/pmtr");
    mkdirSync(join(root, "usr/bin"), { recursive: true });
    copyFileSync(HOST_ARTIFACT, binary);
    expect(run([strip, binary]).code).toBe(0);
    expect(run([binary, "--version"]).stdout).not.toStartWith("pmtr ");

    const r = run([resolve(ROOT, "docs/debian/postinst"), "configure", ""], { env: { DPKG_ROOT: root } });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`pmtr: ${binary} --version printed`);
    expect(r.out).toContain("never strip /usr/bin/pmtr");

    // The unstripped binary passes the same check.
    copyFileSync(HOST_ARTIFACT, binary);
    const ok = run([resolve(ROOT, "docs/debian/postinst"), "configure", ""], { env: { DPKG_ROOT: root } });
    expect(ok.out).toBe("");
    expect(ok.code).toBe(0);
  }, SLOW_MS);

  test("DEB_ARCH=arm64 packages the arm64 binary", () => {
    const other = HOST_ARCH === "amd64" ? "arm64" : "amd64";
    // Uncompressed, to save the test the compression time; removed afterwards, as it is not
    // the package `make deb` ships.
    rmSync(DEB(other), { force: true });
    make("deb", `DEB_ARCH=${other}`, "DEB_COMPRESSION=none");
    dirs.push(DEB(other));
    expect(run(["dpkg-deb", "-f", DEB(other), "Architecture"]).stdout.trim()).toBe(other);
    const line = run(["dpkg-deb", "-c", DEB(other)]).stdout.split("\n").find((l) => l.endsWith(" ./usr/bin/pmtr"))!;
    const size = Number(line.trim().split(/\s+/)[2]);
    expect(size).toBe(statSync(ARTIFACT(other === "arm64" ? "arm64" : "x64")).size);
  }, SLOW_MS);
});
