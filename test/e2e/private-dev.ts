// For tests that need a /dev of their own (no /dev/log, or a chosen socket as /dev/log): a
// command prefix that runs the rest in a private mount namespace whose /dev is a small tmpfs
// with the usual device nodes bind-mounted from the host's. Nothing is created in the host's
// /dev. The one copy of this setup: test/e2e/ops-syslog, logs-own, ops-stderr-blocked and
// test/reliability/faults use it.

/** `$1` the temp dir, `$2` the socket to appear as /dev/log ("" for none), `$3` which of its
 *  own stdio JOURNAL_STREAM names ("stderr", "stdout" or "" to leave it unset). It refuses to
 *  touch /dev unless it really is in a mount namespace of its own. */
const PRIVATE_DEV = String.raw`
set -eu
dir=$1 log=$2 journal=$3
shift 3
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
ln -s fd/0 /dev/stdin
ln -s fd/1 /dev/stdout
ln -s fd/2 /dev/stderr
umount -l "$dir/host-dev"
if [ -n "$log" ]; then
  : > /dev/log
  mount --bind "$log" /dev/log
fi
case $journal in
  stderr) JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); export JOURNAL_STREAM ;;
  stdout) JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/1); export JOURNAL_STREAM ;;
esac
exec "$@"
`;

/** Prefix for a command to run with a private /dev: `log` the socket to appear as /dev/log,
 *  "" for none; `journal` sets JOURNAL_STREAM to that stdio of the command, as systemd does.
 *  `dir` is a scratch directory of the test's (a mount point `host-dev` is made in it).
 *  Needs root and unshare (Debian package util-linux). */
export const inPrivateDev = (dir: string, log = "", journal: "" | "stderr" | "stdout" = ""): string[] =>
  ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", PRIVATE_DEV, "sh", dir, log, journal];
