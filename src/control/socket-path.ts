// Where the control socket lives unless `-s PATH` says otherwise. Pure: uid and environment in.

export const ROOT_SOCKET_PATH = "/run/pmtr.sock";

/** root: /run/pmtr.sock; others: $XDG_RUNTIME_DIR/pmtr.sock (a private 0700 directory), or
 *  /tmp/pmtr-UID.sock when that is unset. */
export function defaultSocketPath(uid: number, env: Readonly<Record<string, string | undefined>>): string {
  if (uid === 0) return ROOT_SOCKET_PATH;
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir !== undefined && runtimeDir.startsWith("/")) return `${runtimeDir.replace(/\/+$/, "")}/pmtr.sock`;
  return `/tmp/pmtr-${uid}.sock`;
}
