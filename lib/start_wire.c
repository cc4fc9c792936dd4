/* A worker's configuration and descriptors over a Unix socket, for workers
 * that do not inherit the coordinator's memory (fork server, spawn). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "internal.h"

#define SHARC__MAX_FDS 4

void *sharc__wire_make(const sharc_pool *pool, unsigned w, uint32_t seen,
                       pid_t parent, size_t *len) {
  size_t plan = (size_t)pool->nworkers * sizeof(sharc_placement);
  size_t libs = pool->kernel_libs ? strlen(pool->kernel_libs) : 0;
  /* hooks by name travel to spawned workers only: the others were given
   * the pointers they resolve to */
  int spawn = pool->opts.start == SHARC_START_SPAWN;
  const char *init = spawn ? pool->opts.init_name : NULL;
  const char *fini = spawn ? pool->opts.fini_name : NULL;
  size_t ilen = init ? strlen(init) : 0, flen = fini ? strlen(fini) : 0;
  sharc__wire *h = calloc(1, sizeof *h + plan + libs + ilen + flen + 1);
  if (h == NULL)
    return NULL;
  h->magic = SHARC__WIRE_MAGIC;
  h->id = w;
  h->nworkers = pool->nworkers;
  h->seen = seen;
  h->parent = (int32_t)parent;
  h->pin = pool->opts.pin;
  h->tsc_clock = pool->tsc_clock;
  h->share_pu = sharc__pool_shares_pu(pool);
  h->spin_us = pool->opts.spin_us;
  h->libs_len = (uint32_t)libs;
  h->init_len = (uint32_t)ilen;
  h->fini_len = (uint32_t)flen;
  /* Worker 0 says which kernels it knows (they all load the same
   * libraries), once per pool. */
  h->want_kernels =
      pool->opts.start == SHARC_START_SPAWN && !pool->knames_set && w == 0;
  h->cb_len = pool->cb_len;
  h->init = (uint64_t)(uintptr_t)pool->opts.init;
  h->fini = (uint64_t)(uintptr_t)pool->opts.fini;
  h->init_arg = (uint64_t)(uintptr_t)pool->opts.init_arg;
  memcpy(h + 1, pool->plan.w, plan);
  char *tail = (char *)(h + 1) + plan;
  if (libs > 0)
    memcpy(tail, pool->kernel_libs, libs);
  if (ilen > 0)
    memcpy(tail + libs, init, ilen);
  if (flen > 0)
    memcpy(tail + libs + ilen, fini, flen);
  *len = sizeof *h + plan + libs + ilen + flen;
  return h;
}

int sharc__wire_conf(const void *buf, size_t len, int cb_fd, int evfd, int sock,
                     sharc__wconf *conf) {
  const sharc__wire *h = buf;
  if (len < sizeof *h || h->magic != SHARC__WIRE_MAGIC || h->nworkers == 0 ||
      h->nworkers > SHARC__MAX_WORKERS || h->id >= h->nworkers ||
      h->init_len >= SHARC__HOOK_NAME_MAX ||
      h->fini_len >= SHARC__HOOK_NAME_MAX ||
      len != sizeof *h + h->nworkers * sizeof(sharc_placement) + h->libs_len +
                 h->init_len + h->fini_len ||
      h->cb_len < sharc__cb_size(h->nworkers))
    return SHARC_EINVAL;
  void *cb =
      mmap(NULL, h->cb_len, PROT_READ | PROT_WRITE, MAP_SHARED, cb_fd, 0);
  if (cb == MAP_FAILED)
    return -errno;
  /* A sharc-worker from another build of sharc reads the control block
   * by another layout: refuse rather than corrupt it. */
  const sharc__cb *c = cb;
  if (c->magic != SHARC__CB_MAGIC || c->version != SHARC__CB_VERSION ||
      c->size != h->cb_len) {
    munmap(cb, h->cb_len);
    return SHARC_EINVAL;
  }
  memset(conf, 0, sizeof *conf);
  conf->cb = cb;
  conf->id = h->id;
  conf->nworkers = h->nworkers;
  conf->sock = sock;
  conf->evfd = evfd;
  conf->seen = h->seen;
  conf->parent = (pid_t)h->parent;
  /* the header is 8-byte aligned and placements hold ints */
  conf->plan = (sharc_placement *)(void *)(h + 1);
  conf->pin = h->pin;
  conf->tsc_clock = h->tsc_clock;
  conf->share_pu = h->share_pu;
  conf->spin_us = h->spin_us;
  conf->init = (sharc_worker_init_fn)(uintptr_t)h->init;
  conf->fini = (sharc_worker_fini_fn)(uintptr_t)h->fini;
  conf->init_arg = (void *)(uintptr_t)h->init_arg;
  conf->fresh = 1;
  return 0;
}

int sharc__send_fds(int sock, const void *buf, size_t len, const int *fds,
                    unsigned nfds) {
  union {
    char buf[CMSG_SPACE(SHARC__MAX_FDS * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {(void *)buf, len};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > SHARC__MAX_FDS)
    return -EINVAL;
  if (nfds > 0) {
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.buf;
    mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  ssize_t sent;
  do
    sent = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0)
    return -errno;
  return sent == (ssize_t)len ? 0 : -EMSGSIZE;
}

ssize_t sharc__recv_fds(int sock, void *buf, size_t cap, int *fds,
                        unsigned *nfds, int flags) {
  union {
    char buf[CMSG_SPACE(SHARC__MAX_FDS * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {buf, cap};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof ctl.buf;
  unsigned want = *nfds;
  *nfds = 0;
  ssize_t got;
  do
    got = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    return -errno;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL;
       c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (*nfds < want)
        fds[(*nfds)++] = fd;
      else
        close(fd);
    }
  }
  if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (unsigned i = 0; i < *nfds; i++)
      close(fds[i]);
    *nfds = 0;
    return -EMSGSIZE;
  }
  return got;
}
