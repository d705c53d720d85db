// Which names in an include directory a pattern matches (SPEC §15): the glob of the last path
// component, and, as `*` in the shell, no leading dot unless the glob itself starts with one —
// editors' hidden files (.web.conf.swp, .#web.conf) are never read. One definition for
// reading (config-file.ts) and watching (config-watch.ts), so a file that is read is watched.

import { basename, dirname } from "node:path";

export function includeDir(pattern: string): string {
  return dirname(pattern);
}

export function includeNameFilter(pattern: string): (name: string) => boolean {
  const globText = basename(pattern);
  const glob = new Bun.Glob(globText);
  const dotsToo = globText.startsWith(".");
  return (name) => (dotsToo || !name.startsWith(".")) && glob.match(name);
}
