/* pmtr's one way to start a process: clone(CLONE_VM|CLONE_VFORK) + SPEC §3's steps + execve.
 *
 * Compiled at start-up by bun:ffi's cc() (TinyCC, inside the pmtr binary) from a memfd copy of
 * this file (compile.ts). So it includes no header and links nothing: hosts have no libc
 * headers, and under qemu-user there is no "libc" to link. libc's syscall(), clone() and
 * __errno_location() come in as pointers (pmtr_spawn_init); every other call is a raw system
 * call by number, per architecture (arm64 has no open, dup2 or vfork: openat, dup3, clone).
 *
 * The child shares pmtr's memory until it execs, so it touches nothing but its own stack and
 * the request, allocates nothing, and changes credentials with raw system calls (glibc's
 * setuid family would signal every thread of pmtr). It reports a failed step only through a
 * close-on-exec pipe (under qemu-user a vfork child's writes to memory are not seen by the
 * parent); a successful execve closes that pipe with nothing written.
 *
 * The request is an array of 64-bit slots (R_* below; request.ts fills it, by the same names). */

typedef long i64;
typedef unsigned long u64;
typedef unsigned int u32;

#if defined(__x86_64__)
enum {
  SYS_read = 0, SYS_write = 1, SYS_close = 3, SYS_fstat = 5, SYS_rt_sigaction = 13,
  SYS_rt_sigprocmask = 14, SYS_wait4 = 61, SYS_execve = 59, SYS_fcntl = 72, SYS_chdir = 80,
  SYS_umask = 95, SYS_setuid = 105, SYS_setgid = 106, SYS_setsid = 112, SYS_setgroups = 116,
  SYS_setfsuid = 122, SYS_setfsgid = 123, SYS_setpriority = 141, SYS_sched_setaffinity = 203,
  SYS_exit_group = 231, SYS_openat = 257, SYS_dup3 = 292, SYS_pipe2 = 293, SYS_prlimit64 = 302,
  SYS_close_range = 436, SYS_waitid = 247
};
/* struct stat: st_mode and st_uid */
enum { STAT_MODE = 24, STAT_UID = 28 };
#elif defined(__aarch64__)
enum {
  SYS_read = 63, SYS_write = 64, SYS_close = 57, SYS_fstat = 80, SYS_rt_sigaction = 134,
  SYS_rt_sigprocmask = 135, SYS_wait4 = 260, SYS_execve = 221, SYS_fcntl = 25, SYS_chdir = 49,
  SYS_umask = 166, SYS_setuid = 146, SYS_setgid = 144, SYS_setsid = 157, SYS_setgroups = 159,
  SYS_setfsuid = 151, SYS_setfsgid = 152, SYS_setpriority = 140, SYS_sched_setaffinity = 122,
  SYS_exit_group = 94, SYS_openat = 56, SYS_dup3 = 24, SYS_pipe2 = 59, SYS_prlimit64 = 261,
  SYS_close_range = 436, SYS_waitid = 95
};
enum { STAT_MODE = 16, STAT_UID = 24 };
#else
#error "pmtr spawns on x86_64 and aarch64 Linux only"
#endif

enum {
  AT_FDCWD = -100, O_NONBLOCK = 04000, O_CLOEXEC = 02000000, F_DUPFD_CLOEXEC = 1030,
  F_GETFL = 3, F_SETFL = 4, SIG_SETMASK = 2, CLONE_VM = 0x100, CLONE_VFORK = 0x4000,
  SIGCHLD = 17, SIGKILL = 9, SIGSTOP = 19, EINTR = 4, ENOSYS = 38, RLIMIT_NOFILE = 7,
  S_IFMT = 0170000, S_IFCHR = 0020000, EXIT_FAILED = 127
};

/* The request: what request.ts writes before each call, and the outcome written back. */
enum {
  R_PATH, R_ARGV, R_ENVP, R_DIR,
  R_IN_PATH, R_OUT_PATH, R_ERR_PATH,       /* char *, used when the fd below is -1 */
  R_IN_FD, R_OUT_FD, R_ERR_FD,             /* an fd pmtr passes, or -1 */
  R_IN_FLAGS, R_OUT_FLAGS, R_ERR_FLAGS,    /* open flags for the paths */
  R_SET_NICE, R_NICE,
  R_SET_USER, R_UID, R_GID, R_NGROUPS, R_GROUPS, /* R_GROUPS: u32 * */
  R_CPU_BYTES, R_CPU_MASK,                 /* 0 bytes: affinity left alone */
  R_NOFILE_DEFAULT,                        /* 1: soft NOFILE to min(1024, hard) first */
  R_NLIMITS, R_LIMITS,                     /* i64 triples: resource, soft, hard */
  R_ROOT_INPUT,                            /* 1: refuse an `in` that non-root can change */
  /* outcome */
  R_STATUS_FD, R_FAIL_STEP, R_FAIL_ERRNO, R_FAIL_A, R_FAIL_B,
  R_SLOTS
};

/* Steps, as request.ts names them. */
enum {
  STEP_NONE, STEP_PIPE, STEP_CLONE, STEP_SETSID, STEP_DIR, STEP_GROUPS, STEP_IN, STEP_OUT,
  STEP_ERR, STEP_IN_OWNER, STEP_FDS, STEP_NICE, STEP_CPU, STEP_ULIMIT, STEP_SETGID,
  STEP_SETUID, STEP_EXEC
};

typedef i64 (*syscall_fn)(i64, i64, i64, i64, i64, i64, i64);
typedef int (*clone_fn)(int (*)(void *), void *, int, void *, i64, i64, i64);
typedef int *(*errno_fn)(void);

static syscall_fn sys_call;
static clone_fn clone_call;
static errno_fn errno_location;
/* The child's stack: it runs there until execve (one start at a time: pmtr's JS thread). */
static char child_stack[65536];

/* A system call returning -errno on failure, as the kernel does (libc's syscall() returns -1
 * and sets errno: in the child that is the errno of pmtr's thread, harmless while it waits). */
static i64 sc(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f) {
  i64 r = sys_call(n, a, b, c, d, e, f);
  return r == -1 ? -(i64)*errno_location() : r;
}
#define SC1(n, a) sc(n, (i64)(a), 0, 0, 0, 0, 0)
#define SC2(n, a, b) sc(n, (i64)(a), (i64)(b), 0, 0, 0, 0)
#define SC3(n, a, b, c) sc(n, (i64)(a), (i64)(b), (i64)(c), 0, 0, 0)
#define SC4(n, a, b, c, d) sc(n, (i64)(a), (i64)(b), (i64)(c), (i64)(d), 0, 0)

void pmtr_spawn_init(void *syscall_ptr, void *clone_ptr, void *errno_ptr) {
  sys_call = (syscall_fn)syscall_ptr;
  clone_call = (clone_fn)clone_ptr;
  errno_location = (errno_fn)errno_ptr;
}

/* The failing step and errno (and two numbers that explain it) to pmtr, then exit. */
static void fail(i64 *r, int step, i64 err, i64 a, i64 b) {
  i64 rec[4];
  rec[0] = step;
  rec[1] = err < 0 ? -err : err;
  rec[2] = a;
  rec[3] = b;
  SC3(SYS_write, r[R_STATUS_FD], rec, sizeof rec);
  for (;;) SC1(SYS_exit_group, EXIT_FAILED);
}

/* fd moved to 3 or above (close-on-exec), so that putting the sources on 0, 1, 2 in turn
 * cannot overwrite one that is still to be used. */
static i64 above_stdio(i64 fd) {
  return fd > 2 ? fd : SC3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3);
}

static int child(void *arg) {
  i64 *r = arg;
  i64 rc, i;
  u64 empty = 0;
  i64 dfl[4];
  i64 src[3];
  dfl[0] = dfl[1] = dfl[2] = dfl[3] = 0; /* SIG_DFL, no flags, empty mask */

  if (r[R_STATUS_FD] <= 2) r[R_STATUS_FD] = above_stdio(r[R_STATUS_FD]);
  rc = SC1(SYS_setsid, 0);
  if (rc < 0) fail(r, STEP_SETSID, rc, 0, 0);
  SC1(SYS_umask, 022);
  /* Dispositions first, then the mask (pmtr blocked everything around the clone): a signal
   * must never run one of pmtr's handlers here. */
  for (i = 1; i <= 64; i++)
    if (i != SIGKILL && i != SIGSTOP) SC4(SYS_rt_sigaction, i, dfl, 0, 8);
  SC4(SYS_rt_sigprocmask, SIG_SETMASK, &empty, 0, 8);
  rc = SC1(SYS_chdir, r[R_DIR]);
  if (rc < 0) fail(r, STEP_DIR, rc, 0, 0);

  /* The files are opened as the job's user (SPEC §3): its groups and file-system ids now,
   * the rest of its identity last. */
  if (r[R_SET_USER]) {
    rc = SC2(SYS_setgroups, r[R_NGROUPS], r[R_GROUPS]);
    if (rc < 0) fail(r, STEP_GROUPS, rc, 0, 0);
    SC1(SYS_setfsgid, r[R_GID]);
    SC1(SYS_setfsuid, r[R_UID]);
  }
  for (i = 0; i < 3; i++) {
    i64 fd = r[R_IN_FD + i];
    if (fd < 0) {
      /* Non-blocking, so that a FIFO without a reader fails (ENXIO) instead of freezing
       * pmtr, which waits for this child; the job gets the file in blocking mode. */
      fd = SC4(SYS_openat, AT_FDCWD, r[R_IN_PATH + i], r[R_IN_FLAGS + i] | O_NONBLOCK | O_CLOEXEC, 0644);
      if (fd < 0) fail(r, STEP_IN + i, fd, 0, 0);
      rc = SC2(SYS_fcntl, fd, F_GETFL);
      if (rc >= 0) SC3(SYS_fcntl, fd, F_SETFL, rc & ~O_NONBLOCK);
      if (i == 0 && r[R_ROOT_INPUT]) {
        char st[256];
        u32 mode, uid;
        rc = SC2(SYS_fstat, fd, st);
        if (rc < 0) fail(r, STEP_IN, rc, 0, 0);
        mode = *(u32 *)(st + STAT_MODE);
        uid = *(u32 *)(st + STAT_UID);
        if (uid != 0 || ((mode & 022) && (mode & S_IFMT) != S_IFCHR)) fail(r, STEP_IN_OWNER, 0, uid, mode);
      }
    }
    src[i] = above_stdio(fd);
    if (src[i] < 0) fail(r, STEP_FDS, src[i], i, 0);
  }
  for (i = 0; i < 3; i++) {
    rc = SC3(SYS_dup3, src[i], i, 0);
    if (rc < 0) fail(r, STEP_FDS, rc, i, 0);
  }
  /* Only 0, 1, 2 and the status pipe (as 3, close-on-exec) stay. */
  if (r[R_STATUS_FD] != 3) {
    rc = SC3(SYS_dup3, r[R_STATUS_FD], 3, O_CLOEXEC);
    if (rc < 0) fail(r, STEP_FDS, rc, 3, 0);
    r[R_STATUS_FD] = 3;
  }
  rc = SC3(SYS_close_range, 4, ~0U, 0);
  if (rc == -ENOSYS) {
    /* Linux before 5.9: every fd below the open-files limit, however slow. */
    i64 lim[2];
    if (SC4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, lim) < 0) lim[0] = 1024;
    for (i = 4; i < lim[0]; i++) SC1(SYS_close, i);
  } else if (rc < 0) fail(r, STEP_FDS, rc, 4, 0);

  if (r[R_SET_NICE]) {
    rc = SC3(SYS_setpriority, 0 /* PRIO_PROCESS */, 0, r[R_NICE]);
    if (rc < 0) fail(r, STEP_NICE, rc, 0, 0);
  }
  if (r[R_CPU_BYTES] > 0) {
    rc = SC3(SYS_sched_setaffinity, 0, r[R_CPU_BYTES], r[R_CPU_MASK]);
    if (rc < 0) fail(r, STEP_CPU, rc, 0, 0);
  }
  if (r[R_NOFILE_DEFAULT]) {
    /* Bun raises its own soft limit to the hard one; daemons that loop over every fd or use
     * select() must not inherit that. */
    i64 lim[2];
    rc = SC4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, lim);
    if (rc < 0) fail(r, STEP_ULIMIT, rc, -1, 0);
    if ((u64)lim[0] > 1024) {
      lim[0] = (u64)lim[1] < 1024 ? lim[1] : 1024;
      rc = SC4(SYS_prlimit64, 0, RLIMIT_NOFILE, lim, 0);
      if (rc < 0) fail(r, STEP_ULIMIT, rc, -1, 0);
    }
  }
  for (i = 0; i < r[R_NLIMITS]; i++) {
    i64 *l = (i64 *)r[R_LIMITS] + 3 * i;
    rc = SC4(SYS_prlimit64, 0, l[0], l + 1, 0);
    if (rc < 0) fail(r, STEP_ULIMIT, rc, i, 0);
  }
  if (r[R_SET_USER]) {
    rc = SC1(SYS_setgid, r[R_GID]);
    if (rc < 0) fail(r, STEP_SETGID, rc, 0, 0);
    rc = SC1(SYS_setuid, r[R_UID]);
    if (rc < 0) fail(r, STEP_SETUID, rc, 0, 0);
  }
  rc = SC3(SYS_execve, r[R_PATH], r[R_ARGV], r[R_ENVP]);
  fail(r, STEP_EXEC, rc, 0, 0);
  return EXIT_FAILED;
}

/* Starts the request's process. Returns its pid once it has exec'd; or -1, with the failed
 * step, errno and details in the request (the failed child has been reaped). */
i64 pmtr_spawn(i64 *r) {
  int pipefd[2];
  u64 all = ~0UL, old = 0;
  i64 rc, pid, n, status = 0;
  i64 rec[4];
  char *top = child_stack + sizeof child_stack;
  top = (char *)((u64)top & ~15UL);

  r[R_FAIL_STEP] = STEP_NONE;
  rc = SC2(SYS_pipe2, pipefd, O_CLOEXEC);
  if (rc < 0) {
    r[R_FAIL_STEP] = STEP_PIPE;
    r[R_FAIL_ERRNO] = -rc;
    return -1;
  }
  r[R_STATUS_FD] = pipefd[1];
  /* No signal handler of pmtr may run in the child, on memory it shares with pmtr. */
  SC4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
  pid = clone_call(child, top, CLONE_VM | CLONE_VFORK | SIGCHLD, r, 0, 0, 0);
  if (pid < 0) pid = -(i64)*errno_location();
  SC4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
  SC1(SYS_close, pipefd[1]);
  if (pid < 0) {
    SC1(SYS_close, pipefd[0]);
    r[R_FAIL_STEP] = STEP_CLONE;
    r[R_FAIL_ERRNO] = -pid;
    return -1;
  }
  /* EOF once execve has closed the child's end, or a failure record before it exits. */
  do n = SC3(SYS_read, pipefd[0], rec, sizeof rec);
  while (n == -EINTR);
  SC1(SYS_close, pipefd[0]);
  if (n != sizeof rec) return pid;
  r[R_FAIL_STEP] = rec[0];
  r[R_FAIL_ERRNO] = rec[1];
  r[R_FAIL_A] = rec[2];
  r[R_FAIL_B] = rec[3];
  do rc = SC4(SYS_wait4, pid, &status, 0, 0);
  while (rc == -EINTR);
  return -1;
}

/* The exit of child `pid` if it has ended: returns pid and its wait status in *status, 0 if it
 * still runs, -errno (ECHILD: not a child of pmtr, or already reaped). */
i64 pmtr_reap(i64 pid, int *status) {
  return SC4(SYS_wait4, pid, status, 1 /* WNOHANG */ | 0x40000000 /* __WALL */, 0);
}

/* The pid of a child of pmtr that has ended, left waitable (WNOWAIT), so the caller decides
 * whether it is its to reap; 0 when none has; -errno (ECHILD: no children at all). */
i64 pmtr_next_exited(void) {
  i64 info[16]; /* siginfo_t, 128 bytes; si_pid at 16 on both architectures */
  int i;
  for (i = 0; i < 16; i++) info[i] = 0;
  i64 rc = sc(SYS_waitid, 0 /* P_ALL */, 0, (i64)info, 4 /* WEXITED */ | 1 /* WNOHANG */ | 0x01000000 /* WNOWAIT */ | 0x40000000 /* __WALL */, 0, 0);
  return rc < 0 ? rc : *(int *)((char *)info + 16);
}
