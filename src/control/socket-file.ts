// Making room for the control socket without ever harming a file that is not ours: a path is
// replaced only when it is a socket (never a symlink, whose target we would not check) and
// nothing answers on it, i.e. a pmtr that died without cleaning up left it behind.

import { lstatSync, unlinkSync, type Stats } from "node:fs";

export type Prepared = { readonly ok: true } | { readonly ok: false; readonly message: string };

export async function clearStaleSocket(path: string): Promise<Prepared> {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ok: true };
    return { ok: false, message: `control socket ${path}: ${(error as Error).message}` };
  }
  if (st.isSymbolicLink()) return { ok: false, message: `control socket ${path} is a symbolic link; refusing to replace it (remove it, or choose another path with -s)` };
  if (!st.isSocket()) return { ok: false, message: `control socket ${path} exists and is not a socket; refusing to replace it (remove it, or choose another path with -s)` };

  const answer = await probe(path);
  if (answer === "live") return { ok: false, message: `control socket ${path} is in use by another pmtr (stop it, or give this one another path with -s)` };
  if (answer !== "ECONNREFUSED") return { ok: false, message: `control socket ${path}: cannot tell whether it is in use (${answer}); remove it if no pmtr runs` };
  try {
    // Unlink only the very file we probed: if it was swapped meanwhile, leave the new one alone.
    const again = lstatSync(path);
    if (again.ino !== st.ino || again.dev !== st.dev || !again.isSocket()) {
      return { ok: false, message: `control socket ${path} changed while pmtr checked it; try again` };
    }
    unlinkSync(path);
  } catch (error) {
    return { ok: false, message: `control socket ${path}: cannot remove the stale socket: ${(error as Error).message}` };
  }
  return { ok: true };
}

/** "live" when something accepts a connection on `path`, else the connect error code. */
export async function probe(path: string): Promise<string> {
  try {
    const socket = await Bun.connect({ unix: path, socket: { data() {} } });
    socket.end();
    return "live";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}
