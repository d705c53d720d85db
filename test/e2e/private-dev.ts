// For tests that need a /dev of their own (no /dev/log, or a chosen socket as /dev/log): a
// command prefix that runs the rest in a private mount namespace whose /dev is a small tmpfs
// with the usual device nodes bind-mounted from the host's. Nothing is created in the host's
// /dev. (The same trick as test/e2e/ops-syslog.test.ts, for the tests added since.)

const PRIVATE_DEV = String.raw`
set -eu
dir=$1 log=$2
shift 2
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/$PPID/ns/mnt)" ] || { echo "not in a private mount namespace" >&2; exit 97; }
mkdir "$dir/host-dev"
mount --rbind /dev "$dir/host-dev"
mount -t tmpfs -o mode=0755,size=64k pmtr-e2e-dev /dev
for node in null zero full random urandom tty; do
  : > "/dev/$node"
  mount --bind "$dir/host-dev/$node" "/dev/$node"
done
mkdir /dev/pts /dev/shm
mount --rbind "$dir/host-dev/pts" /dev/pts
mount --rbind "$dir/host-dev/shm" /dev/shm
ln -s /proc/self/fd /dev/fd
umount -l "$dir/host-dev"
if [ -n "$log" ]; then
  : > /dev/log
  mount --bind "$log" /dev/log
fi
exec "$@"
`;

/** Prefix for a command to run with a private /dev: `log` the socket to appear as /dev/log,
 *  "" for none. `dir` is a scratch directory of the test's (a mount point is made in it).
 *  Needs root and unshare (Debian package util-linux). */
export const inPrivateDev = (dir: string, log = ""): string[] =>
  ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", PRIVATE_DEV, "sh", dir, log];
