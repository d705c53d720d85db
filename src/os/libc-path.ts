// The file name to dlopen for libc. glibc installs "libc.so.6"; musl (Alpine) has one
// "libc.musl-<arch>.so.1" that is also its dynamic loader. libc.ts, the one binding, opens it;
// dlopen of an already-loaded library is cheap and reference-counted.

import { existsSync, readdirSync } from "node:fs";

let cached: string | undefined;

export function libcPath(): string {
  if (cached !== undefined) return cached;
  cached = findMusl() ?? "libc.so.6";
  return cached;
}

function findMusl(): string | null {
  for (const dir of ["/lib", "/usr/lib"]) {
    if (!existsSync(dir)) continue;
    const hit = readdirSync(dir).find((f) => /^libc\.musl-.*\.so\.1$/.test(f) || f === "ld-musl-x86_64.so.1");
    if (hit) return `${dir}/${hit}`;
  }
  return null;
}
