/* The fork server: a clean process forked early (sharc_init) that forks
 * workers on request, so that they are copies of a small single-threaded
 * process, not of a coordinator that may run threads, an OpenMP runtime or
 * MPI by then.
 *
 * The coordinator holds one control socket to the server. Each pool sends
 * the server a socket of its own over it, and asks on that one for workers
 * (configuration, control block memfd, eventfd and the worker's socket by
 * SCM_RIGHTS). The server forks the worker and answers with its pid and a
 * pidfd, taken while the worker cannot have been reaped yet, so the
 * coordinator watches the right process. Workers are the server's
 * children: the server reaps them and sends their wait statuses on the
 * pool's socket. Workers die with the server and the server dies with the
 * coordinator (PR_SET_PDEATHSIG both), so workers still die with it. */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* How long the coordinator waits for the server's answer. */
#define SHARC__SERVER_TIMEOUT_MS 10000

enum { SRV_STARTED = 1, SRV_EXITED = 2 };
typedef struct srv_msg {
  uint32_t op;
  int32_t pid;
  int32_t status; /* EXITED: waitpid's; STARTED: 0 or a negative code */
  char why[116];  /* STARTED with an error: what failed */
} srv_msg;

struct sharc__exit {
  pid_t pid;
  int status;
};

/* --- the server process ------------------------------------------------- */

typedef struct child {
  pid_t pid;
  int conn;
} child;

typedef struct server {
  int ctl;
  int sigfd;
  int *conns;
  unsigned nconns, conns_cap;
  child *kids;
  unsigned nkids, kids_cap;
  void *buf;
  size_t buf_cap;
} server;

static int grow(void **p, unsigned *cap, unsigned n, size_t size) {
  if (n < *cap)
    return 0;
  unsigned c = *cap ? *cap * 2 : 16;
  void *q = realloc(*p, c * size);
  if (q == NULL)
    return -1;
  *p = q;
  *cap = c;
  return 0;
}

static void reply(int conn, uint32_t op, pid_t pid, int status, int pidfd,
                  const char *why) {
  srv_msg m;
  memset(&m, 0, sizeof m);
  m.op = op;
  m.pid = (int32_t)pid;
  m.status = status;
  if (why != NULL)
    snprintf(m.why, sizeof m.why, "%s", why);
  (void)sharc__send_fds(conn, &m, sizeof m, &pidfd, pidfd >= 0 ? 1 : 0);
}

/* A hook the server cannot call (a library loaded after it forked) would
 * kill every worker as it starts: say so instead. */
static int hooks_known(const sharc__wire *h) {
  Dl_info info;
  if (h->init != 0 && dladdr((void *)(uintptr_t)h->init, &info) == 0)
    return 0;
  if (h->fini != 0 && dladdr((void *)(uintptr_t)h->fini, &info) == 0)
    return 0;
  return 1;
}

/* Serves one request on a pool's connection. -1: the pool closed it (it
 * was destroyed, or its process ended), so it leaves the poll set; a
 * hung-up socket stays readable, and kept there it would turn the
 * server's poll into a busy loop. */
static int start_one(server *s, int conn) {
  int fds[3];
  unsigned nfds = 3;
  ssize_t got = sharc__recv_fds(conn, s->buf, s->buf_cap, fds, &nfds, 0);
  if (got == 0 || (got < 0 && got != -EAGAIN && got != -EMSGSIZE))
    return -1;
  if (got < 0) /* an oversized message, consumed: wait for the next */
    return 0;
  char why[116] = "";
  sharc__wconf conf;
  pid_t pid = -1;
  int rc = nfds == 3 && (size_t)got >= sizeof(sharc__wire) ? 0 : SHARC_EINVAL;
  if (rc == 0 && !hooks_known(s->buf)) {
    rc = SHARC_ENOTSUP;
    snprintf(why, sizeof why,
             "init or fini hook is not in the fork server "
             "(loaded after sharc_init?)");
  }
  if (rc == 0 &&
      grow((void **)&s->kids, &s->kids_cap, s->nkids, sizeof *s->kids) != 0)
    rc = SHARC_ENOMEM;
  if (rc == 0)
    rc = sharc__wire_conf(s->buf, (size_t)got, fds[0], fds[1], fds[2], &conf);
  if (rc == 0) {
    conf.parent = getpid();
    pid = fork();
    if (pid == 0)
      sharc__worker_main(&conf);
    if (pid < 0)
      rc = -errno;
    else if (conf.pin)
      sharc__pin_pid(pid, conf.plan[conf.id].pu);
    munmap(conf.cb, ((const sharc__wire *)s->buf)->cb_len);
  }
  for (unsigned i = 0; i < nfds; i++)
    close(fds[i]);
  int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
  if (pid > 0 && pidfd < 0) {
    rc = -errno;
    kill(pid, SIGKILL);
  }
  if (pid > 0)
    s->kids[s->nkids++] = (child){pid, conn};
  if (rc != 0 && why[0] == '\0')
    snprintf(why, sizeof why, "%s", sharc_strerror(rc));
  reply(conn, SRV_STARTED, rc == 0 ? pid : -1, rc, rc == 0 ? pidfd : -1, why);
  if (pidfd >= 0)
    close(pidfd);
  return 0;
}

static void reap_children(server *s) {
  struct signalfd_siginfo si;
  while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
  }
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (unsigned i = 0; i < s->nkids; i++) {
      if (s->kids[i].pid != pid)
        continue;
      if (s->kids[i].conn >= 0)
        reply(s->kids[i].conn, SRV_EXITED, pid, status, -1, NULL);
      s->kids[i] = s->kids[--s->nkids];
      break;
    }
  }
}

static void drop_conn(server *s, unsigned i) {
  int conn = s->conns[i];
  for (unsigned k = 0; k < s->nkids; k++) {
    if (s->kids[k].conn == conn)
      s->kids[k].conn = -1;
  }
  close(conn);
  s->conns[i] = s->conns[--s->nconns];
}

static _Noreturn void server_main(int ctl, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(127);
  /* The terminal's Ctrl-C is the coordinator's to handle (see reset_signals
   * in worker.c); the server dying of it would kill every worker. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  if (ctl > 3)
    close_range(3, (unsigned)ctl - 1, 0);
  close_range((unsigned)ctl + 1, ~0u, 0);
  server s;
  memset(&s, 0, sizeof s);
  s.ctl = ctl;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  s.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  s.buf_cap =
      sizeof(sharc__wire) + SHARC__MAX_WORKERS * sizeof(sharc_placement) + 1;
  s.buf = malloc(s.buf_cap);
  if (s.sigfd < 0 || s.buf == NULL)
    _exit(126);
  struct pollfd *pfd = NULL;
  unsigned pfd_cap = 0;
  for (;;) {
    if (grow((void **)&pfd, &pfd_cap, s.nconns + 2, sizeof *pfd) != 0)
      _exit(126);
    pfd[0] = (struct pollfd){s.ctl, POLLIN, 0};
    pfd[1] = (struct pollfd){s.sigfd, POLLIN, 0};
    for (unsigned i = 0; i < s.nconns; i++)
      pfd[i + 2] = (struct pollfd){s.conns[i], POLLIN, 0};
    unsigned n = s.nconns + 2;
    if (poll(pfd, n, -1) < 0)
      continue;
    if (pfd[1].revents)
      reap_children(&s);
    for (unsigned i = n; i-- > 2;) {
      if ((pfd[i].revents & POLLIN) ? start_one(&s, pfd[i].fd) != 0
                                    : (pfd[i].revents & (POLLHUP | POLLERR)))
        drop_conn(&s, i - 2);
    }
    if (pfd[0].revents & POLLIN) {
      int conn;
      unsigned nfds = 1;
      char b;
      ssize_t got = sharc__recv_fds(s.ctl, &b, 1, &conn, &nfds, 0);
      if (got == 0)
        _exit(0); /* the coordinator closed it: nothing more to serve */
      if (nfds == 1 &&
          grow((void **)&s.conns, &s.conns_cap, s.nconns, sizeof(int)) == 0)
        s.conns[s.nconns++] = conn;
      else if (nfds == 1)
        close(conn);
    } else if (pfd[0].revents & (POLLHUP | POLLERR)) {
      _exit(0);
    }
  }
}

/* --- the coordinator's side --------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int srv_ctl = -1;
static int srv_pidfd = -1;
static pid_t srv_pid = -1;
static pid_t srv_owner = -1; /* the process that started it */
static unsigned srv_kernels;

/* Under the lock: forgets a server that died (reaping it) or that belongs
 * to the process this one was forked from (leaving it alone). */
static void forget_server(void) {
  if (srv_ctl < 0)
    return;
  if (srv_owner == getpid()) {
    struct pollfd p = {srv_pidfd, POLLIN, 0};
    if (poll(&p, 1, 0) == 0)
      return; /* running */
    waitpid(srv_pid, NULL, 0);
  }
  close(srv_ctl);
  close(srv_pidfd);
  srv_ctl = srv_pidfd = -1;
  srv_pid = srv_owner = -1;
}

static int start_server(void) {
  forget_server();
  if (srv_ctl >= 0)
    return 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return -errno;
  pid_t parent = getpid();
  /* Kernels registered by now are what the server's workers know. */
  unsigned kernels = sharc_kernel_count();
  pid_t pid = fork();
  if (pid == 0)
    server_main(sv[1], parent);
  int err = errno;
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return -err;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(sv[0]);
    return -err;
  }
  srv_ctl = sv[0];
  srv_pidfd = pidfd;
  srv_pid = pid;
  srv_owner = parent;
  srv_kernels = kernels;
  return 0;
}

int sharc_init(void) {
  pthread_mutex_lock(&lock);
  int rc = start_server();
  pthread_mutex_unlock(&lock);
  return rc;
}

int sharc__server_connect(sharc_pool *pool) {
  pthread_mutex_lock(&lock);
  int rc = start_server();
  int c[2] = {-1, -1};
  if (rc == 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c) != 0)
    rc = -errno;
  char b = 0;
  if (rc == 0)
    rc = sharc__send_fds(srv_ctl, &b, 1, &c[1], 1);
  pool->srv_kernels = srv_kernels;
  pthread_mutex_unlock(&lock);
  if (c[1] >= 0)
    close(c[1]);
  if (rc != 0) {
    if (c[0] >= 0)
      close(c[0]);
    return sharc__fail(pool, rc, "fork server: %s", sharc_strerror(rc));
  }
  pool->srv = c[0];
  return 0;
}

static void stash_exit(sharc_pool *pool, pid_t pid, int status) {
  if (pool->nexits == pool->exits_cap) {
    unsigned cap = pool->exits_cap ? pool->exits_cap * 2 : 16;
    struct sharc__exit *e = realloc(pool->exits, cap * sizeof *e);
    if (e == NULL)
      return; /* that worker's status is then unknown */
    pool->exits = e;
    pool->exits_cap = cap;
  }
  pool->exits[pool->nexits++] = (struct sharc__exit){pid, status};
}

/* Reads the server's next message on the pool's socket, waiting up to the
 * timeout. Returns 1, 0 on timeout, or a negative code. */
static int next_msg(sharc_pool *pool, srv_msg *m, int *pidfd) {
  struct pollfd p = {pool->srv, POLLIN, 0};
  int r;
  do
    r = poll(&p, 1, SHARC__SERVER_TIMEOUT_MS);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return 0;
  unsigned nfds = 1;
  ssize_t got = sharc__recv_fds(pool->srv, m, sizeof *m, pidfd, &nfds, 0);
  if (got != (ssize_t)sizeof *m) {
    if (nfds == 1)
      close(*pidfd);
    return got < 0 ? (int)got : SHARC_ECLOSED;
  }
  if (nfds == 0)
    *pidfd = -1;
  return 1;
}

int sharc__server_fork(sharc_pool *pool, unsigned w, int sock, uint32_t seen,
                       pid_t *pid, int *pidfd) {
  size_t len;
  void *buf = sharc__wire_make(pool, w, seen, 0, &len);
  if (buf == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "worker %u: out of memory", w);
  int fds[3] = {pool->cb_fd, pool->evfd, sock};
  int rc = sharc__send_fds(pool->srv, buf, len, fds, 3);
  free(buf);
  if (rc != 0)
    return sharc__fail(pool, rc, "worker %u: asking the fork server: %s", w,
                       strerror(-rc));
  for (;;) {
    srv_msg m;
    int fd;
    int r = next_msg(pool, &m, &fd);
    if (r <= 0)
      return sharc__fail(pool, r == 0 ? SHARC_EAGAIN : r,
                         "worker %u: the fork server %s", w,
                         r == 0 ? "did not answer" : "is gone");
    if (m.op == SRV_EXITED) {
      stash_exit(pool, m.pid, m.status);
      continue;
    }
    if (m.status != 0 || fd < 0) {
      if (fd >= 0)
        close(fd);
      m.why[sizeof m.why - 1] = '\0';
      return sharc__fail(pool, m.status ? m.status : SHARC_EWORKER,
                         "worker %u: the fork server could not start it: %s", w,
                         m.why);
    }
    *pid = m.pid;
    *pidfd = fd;
    return 0;
  }
}

int sharc__server_status(sharc_pool *pool, pid_t pid) {
  for (;;) {
    for (unsigned i = 0; i < pool->nexits; i++) {
      if (pool->exits[i].pid == pid) {
        int status = pool->exits[i].status;
        pool->exits[i] = pool->exits[--pool->nexits];
        return status;
      }
    }
    srv_msg m;
    int fd;
    if (next_msg(pool, &m, &fd) <= 0)
      return -1;
    if (fd >= 0)
      close(fd);
    if (m.op == SRV_EXITED)
      stash_exit(pool, m.pid, m.status);
  }
}
