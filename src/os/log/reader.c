/* pmtr's readiness thread for captured job output (SPEC §13; issue 14).
 *
 * Why a thread: Bun offers no readiness wait for an arbitrary fd except a stream that reads
 * it, and that stream allocates a fresh buffer per read: at hundreds of MB/s tens of MB of
 * garbage pile up before the collector runs. So this thread only waits: it sleeps in
 * epoll_pwait on the read ends of the jobs' pipes (each registered EPOLLONESHOT, so a ready
 * fd is reported once until JS re-arms it) and writes the numbers of the ready fds, as 32-bit
 * ints, to a wake-up pipe that JS reads with one stream (a few bytes per wake-up). JS then
 * reads each ready pipe itself with pmtr_read into one reused buffer, until EAGAIN, and
 * re-arms it (reader.ts). The thread never reads job output and never calls into JS.
 *
 * Compiled like spawn.c (see there): no header, -nostdlib, raw system calls by number, libc's
 * syscall(), __errno_location(), pthread_create() and pthread_detach() passed in as pointers.
 *
 * Stopping: JS writes to the stop eventfd (registered with the tag STOP_TAG); the thread
 * closes the wake-up pipe's write end and returns, so JS sees end-of-file on the wake-up pipe
 * and only then closes the epoll fd and the eventfd: the thread never uses a closed fd. */

typedef long i64;
typedef unsigned long u64;
typedef unsigned int u32;

#if defined(__x86_64__)
enum {
  SYS_read = 0, SYS_write = 1, SYS_close = 3, SYS_rt_sigprocmask = 14, SYS_prctl = 157, SYS_epoll_ctl = 233,
  SYS_epoll_pwait = 281, SYS_eventfd2 = 290, SYS_epoll_create1 = 291
};
/* struct epoll_event is packed on x86_64: u32 events, then u64 data at offset 4. */
enum { EVENT_BYTES = 12, EVENT_DATA = 4 };
#elif defined(__aarch64__)
enum {
  SYS_read = 63, SYS_write = 64, SYS_close = 57, SYS_rt_sigprocmask = 135, SYS_prctl = 167, SYS_epoll_ctl = 21,
  SYS_epoll_pwait = 22, SYS_eventfd2 = 19, SYS_epoll_create1 = 20
};
enum { EVENT_BYTES = 16, EVENT_DATA = 8 };
#else
#error "pmtr reads job output on x86_64 and aarch64 Linux only"
#endif

enum {
  EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EPOLLIN = 1, EPOLLONESHOT = 1 << 30,
  PR_SET_NAME = 15, O_CLOEXEC = 02000000, EFD_CLOEXEC = 02000000, SIG_SETMASK = 2, EINTR = 4, MAX_EVENTS = 64,
  STOP_TAG = -1
};

typedef i64 (*syscall_fn)(i64, i64, i64, i64, i64, i64, i64);
typedef int *(*errno_fn)(void);
typedef int (*pthread_create_fn)(u64 *, void *, void *(*)(void *), void *);
typedef int (*pthread_detach_fn)(u64);

static syscall_fn sys_call;
static errno_fn errno_location;
static pthread_create_fn thread_create;
static pthread_detach_fn thread_detach;

/* A system call; -errno on failure (libc's syscall() returns -1 and sets errno). */
static i64 sys(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f) {
  i64 r = sys_call(n, a, b, c, d, e, f);
  return r == -1 ? -(i64)*errno_location() : r;
}

void pmtr_reader_init(void *syscall_ptr, void *errno_ptr, void *create_ptr, void *detach_ptr) {
  sys_call = (syscall_fn)syscall_ptr;
  errno_location = (errno_fn)errno_ptr;
  thread_create = (pthread_create_fn)create_ptr;
  thread_detach = (pthread_detach_fn)detach_ptr;
}

/* One reader: what the thread needs, in memory the thread owns (allocated by JS, which keeps
 * it alive until the thread is gone: see reader.ts). */
struct reader {
  i64 epoll_fd, stop_fd, wake_fd; /* wake_fd: the wake-up pipe's write end */
  unsigned char events[MAX_EVENTS * 16];
  int ready[MAX_EVENTS];
};

static i64 ctl(i64 epoll_fd, i64 op, i64 fd, i64 tag) {
  unsigned char ev[16];
  u32 *events = (u32 *)ev;
  i64 *data = (i64 *)(ev + EVENT_DATA);
  int i;
  for (i = 0; i < 16; i++) ev[i] = 0;
  *events = tag == STOP_TAG ? EPOLLIN : EPOLLIN | EPOLLONESHOT;
  *data = tag;
  return sys(SYS_epoll_ctl, epoll_fd, op, fd, (i64)ev, 0, 0);
}

static void *run(void *arg) {
  struct reader *r = (struct reader *)arg;
  /* Named, so /proc/PID/task and top show what it is. */
  sys(SYS_prctl, PR_SET_NAME, (i64) "pmtr-output", 0, 0, 0, 0);
  for (;;) {
    i64 n = sys(SYS_epoll_pwait, r->epoll_fd, (i64)r->events, MAX_EVENTS, -1, 0, 8);
    if (n == -EINTR) continue;
    if (n < 0) break; /* cannot happen with valid fds; JS sees end-of-file and stops */
    int count = 0, stop = 0;
    i64 i;
    for (i = 0; i < n; i++) {
      i64 tag = *(i64 *)(r->events + i * EVENT_BYTES + EVENT_DATA);
      if (tag == STOP_TAG) stop = 1;
      else r->ready[count++] = (int)tag;
    }
    if (stop) break;
    /* One write of at most 256 bytes: atomic on a pipe, and the pipe cannot fill, since a
     * oneshot fd is reported once until re-armed (at most one int per registered fd). */
    i64 bytes = count * 4, done = 0;
    while (done < bytes) {
      i64 w = sys(SYS_write, r->wake_fd, (i64)r->ready + done, bytes - done, 0, 0, 0);
      if (w == -EINTR) continue;
      if (w <= 0) break;
      done += w;
    }
  }
  sys(SYS_close, r->wake_fd, 0, 0, 0, 0, 0);
  return 0;
}

/* Starts the thread for `r` (epoll_fd, stop_fd and wake_fd filled in, stop_fd registered).
 * It starts with every signal blocked, so the process's signals stay with Bun's threads.
 * Returns 0 or -errno. */
i64 pmtr_reader_start(struct reader *r) {
  u64 all = ~(u64)0, old = 0, tid = 0;
  sys(SYS_rt_sigprocmask, SIG_SETMASK, (i64)&all, (i64)&old, 8, 0, 0);
  int rc = thread_create(&tid, 0, run, r);
  sys(SYS_rt_sigprocmask, SIG_SETMASK, (i64)&old, 0, 8, 0, 0);
  if (rc != 0) return -(i64)rc;
  thread_detach(tid);
  return 0;
}

i64 pmtr_reader_epoll(void) { return sys(SYS_epoll_create1, O_CLOEXEC, 0, 0, 0, 0, 0); }
i64 pmtr_reader_eventfd(void) { return sys(SYS_eventfd2, 0, EFD_CLOEXEC, 0, 0, 0, 0); }

/* Register `fd` (tag = fd) or the stop eventfd (tag = STOP_TAG); 0 or -errno. */
i64 pmtr_reader_add(i64 epoll_fd, i64 fd, i64 tag) { return ctl(epoll_fd, EPOLL_CTL_ADD, fd, tag); }
/* Report `fd` once more when it is (or becomes) readable; 0 or -errno. */
i64 pmtr_reader_arm(i64 epoll_fd, i64 fd) { return ctl(epoll_fd, EPOLL_CTL_MOD, fd, fd); }
i64 pmtr_reader_remove(i64 epoll_fd, i64 fd) { return ctl(epoll_fd, EPOLL_CTL_DEL, fd, 0); }

/* Asks the thread to stop (8 bytes to the eventfd); 0 or -errno. */
i64 pmtr_reader_stop(i64 stop_fd) {
  u64 one = 1;
  i64 w = sys(SYS_write, stop_fd, (i64)&one, 8, 0, 0, 0);
  return w < 0 ? w : 0;
}

/* read(2) of a job's pipe into JS's reused buffer: bytes, 0 at end-of-file, or -errno
 * (-EAGAIN: empty for now). */
i64 pmtr_read(i64 fd, void *buf, i64 len) { return sys(SYS_read, fd, (i64)buf, len, 0, 0, 0); }
i64 pmtr_close(i64 fd) { return sys(SYS_close, fd, 0, 0, 0, 0, 0); }

/* Bytes JS allocates for a struct reader. */
i64 pmtr_reader_bytes(void) { return sizeof(struct reader); }
