/* Spawn: workers are fresh processes, posix_spawn of the sharc-worker
 * executable, which loads kernels from shared libraries (their SHARC_KERNEL
 * constructors register them) and then runs as any worker does. Nothing of
 * the coordinator's memory crosses exec: the configuration, the control
 * block and every array come over the worker's socket. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

/* The descriptor a spawned worker finds its socket on. */
#define SHARC__SPAWN_FD 3
/* Exit status of a spawned worker that could not load its libraries. */
#define SHARC__EXIT_LIBS 77

/* The first message of a spawned worker that was asked for the kernels it
 * knows, or that could not load a library. */
typedef struct hello {
  int32_t err;
  uint32_t nnames;
  char why[512];
  char names[SHARC_KERNELS_MAX][SHARC_KERNEL_NAME_MAX];
} hello;

#ifndef SHARC_INSTALL_BINDIR
#define SHARC_INSTALL_BINDIR "/usr/local/bin"
#endif
/* sharc-worker relative to the library's directory, once installed. */
#ifndef SHARC_LIB_TO_WORKER
#define SHARC_LIB_TO_WORKER "../bin/sharc-worker"
#endif

static int executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Appends dir(path)/rel to the candidates, if path has a directory. */
static void add_beside(char tried[][PATH_MAX], unsigned *n, const char *path,
                       const char *rel) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  if (slash == NULL)
    return;
  snprintf(tried[(*n)++], PATH_MAX, "%.*s/%s", (int)(slash - path), path, rel);
}

/* The worker executable: the pool's option, SHARC_WORKER, beside the
 * running program (the tool, the build tree), in the bin directory beside
 * the library's (a relocated install), then where it was installed. */
static int find_worker(sharc_pool *pool) {
  char tried[3][PATH_MAX];
  unsigned ntried = 0;
  const char *given = pool->opts.worker_path;
  const char *how = "sharc_pool_opts.worker_path";
  if (given == NULL || *given == '\0') {
    given = getenv("SHARC_WORKER");
    how = "SHARC_WORKER";
  }
  if (given != NULL && *given != '\0') {
    if (!executable(given))
      return sharc__fail(pool, SHARC_ENOENT,
                         "start method spawn: %s=%s is not an executable", how,
                         given);
    pool->worker_path = strdup(given);
    return pool->worker_path ? 0 : SHARC_ENOMEM;
  }
  char exe[PATH_MAX] = "";
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    add_beside(tried, &ntried, exe, "sharc-worker");
  }
  Dl_info info;
  if (dladdr((void *)(uintptr_t)sharc_pool_create, &info) != 0 &&
      info.dli_fname != NULL && strcmp(info.dli_fname, exe) != 0)
    add_beside(tried, &ntried, info.dli_fname, SHARC_LIB_TO_WORKER);
  snprintf(tried[ntried++], PATH_MAX, "%s/sharc-worker", SHARC_INSTALL_BINDIR);
  for (unsigned i = 0; i < ntried; i++) {
    if (executable(tried[i])) {
      pool->worker_path = strdup(tried[i]);
      return pool->worker_path ? 0 : SHARC_ENOMEM;
    }
  }
  return sharc__fail(pool, SHARC_ENOENT,
                     "start method spawn: no sharc-worker executable at %.150s"
                     "%s%.150s%s%.150s (set SHARC_WORKER or "
                     "sharc_pool_opts.worker_path)",
                     tried[0], ntried > 1 ? ", " : "",
                     ntried > 1 ? tried[1] : "", ntried > 2 ? ", " : "",
                     ntried > 2 ? tried[2] : "");
}

typedef struct strbuf {
  char *s;
  size_t len, cap;
} strbuf;

static int add_lib(strbuf *b, const char *path, size_t len) {
  if (len == 0)
    return 0;
  if (b->len + len + 2 > b->cap) {
    size_t cap = (b->cap + len + 2) * 2;
    char *s = realloc(b->s, cap);
    if (s == NULL)
      return SHARC_ENOMEM;
    b->s = s;
    b->cap = cap;
  }
  if (b->len > 0)
    b->s[b->len++] = ':';
  memcpy(b->s + b->len, path, len);
  b->len += len;
  b->s[b->len] = '\0';
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.so in dir, in name order, so that workers load the same set the
 * same way each time. */
static int add_dir(strbuf *b, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return 0;
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **q = realloc(names, cap * sizeof *q);
      if (q == NULL) {
        rc = SHARC_ENOMEM;
        break;
      }
      names = q;
    }
    if ((names[n] = malloc(strlen(dir) + len + 2)) == NULL) {
      rc = SHARC_ENOMEM;
      break;
    }
    sprintf(names[n++], "%s/%s", dir, e->d_name);
  }
  closedir(d);
  if (n > 1)
    qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    if (rc == 0)
      rc = add_lib(b, names[i], strlen(names[i]));
    free(names[i]);
  }
  free(names);
  return rc;
}

/* The entry of a ':'-separated list that starts at p, into path (cap
 * bytes); *len is its length, 0 for an empty entry or one too long for
 * path (skipped). Returns where the next entry starts. */
static const char *next_entry(const char *p, char *path, size_t cap,
                              size_t *len) {
  const char *end = strchr(p, ':');
  size_t n = end ? (size_t)(end - p) : strlen(p);
  *len = n < cap ? n : 0;
  memcpy(path, p, *len);
  path[*len] = '\0';
  return end ? end + 1 : p + n;
}

/* A ':'-separated list: files as they are, directories by their *.so. */
static int add_list(strbuf *b, const char *list) {
  char path[PATH_MAX];
  size_t len;
  for (const char *p = list; p != NULL && *p != '\0';) {
    p = next_entry(p, path, sizeof path, &len);
    if (len == 0)
      continue;
    struct stat st;
    int rc = stat(path, &st) == 0 && S_ISDIR(st.st_mode)
                 ? add_dir(b, path)
                 : add_lib(b, path, len);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int sharc__spawn_prepare(sharc_pool *pool) {
  if (pool->opts.init != NULL || pool->opts.fini != NULL)
    return sharc__fail(pool, SHARC_ENOTSUP,
                       "start method spawn cannot run init or fini hooks "
                       "given as pointers: function pointers do not cross "
                       "exec (name them in init_name and fini_name, to be "
                       "found in the kernel libraries)");
  if (pool->opts.init_arg != NULL)
    return sharc__fail(pool, SHARC_ENOTSUP,
                       "start method spawn cannot pass init_arg to hooks: "
                       "memory does not cross exec (it must be NULL)");
  int rc = find_worker(pool);
  if (rc != 0)
    return rc;
  strbuf b = {NULL, 0, 0};
  rc = add_list(&b, pool->opts.kernel_libs);
  if (rc == 0)
    rc = add_list(&b, getenv("SHARC_KERNEL_PATH"));
  if (rc != 0) {
    free(b.s);
    return sharc__fail(pool, rc, "start method spawn: out of memory");
  }
  pool->kernel_libs = b.s;
  return 0;
}

int sharc__spawn_worker(sharc_pool *pool, unsigned w, int sock, uint32_t seen,
                        pid_t *pid, int *pidfd) {
  size_t len;
  void *buf = sharc__wire_make(pool, w, seen, getpid(), &len);
  if (buf == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "worker %u: out of memory", w);
  int fds[2] = {pool->cb_fd, pool->evfd};
  /* The configuration goes first, then every array: all wait on the socket
   * before the worker runs, so it finds them whenever it looks. */
  int rc = sharc__send_fds(pool->w[w].sock, buf, len, fds, 2);
  free(buf);
  if (rc != 0)
    return sharc__fail(pool, rc, "worker %u: sending its configuration: %s", w,
                       strerror(-rc));
  for (sharc_array *a = pool->arrays; a != NULL; a = a->next) {
    if ((rc = sharc__array_send(pool, a, w)) != 0)
      return rc;
  }
  /* dup2 onto the same number would leave close-on-exec set. */
  int src = sock == SHARC__SPAWN_FD ? fcntl(sock, F_DUPFD_CLOEXEC, 4) : sock;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  sigemptyset(&none);
  char fdarg[16];
  snprintf(fdarg, sizeof fdarg, "%d", SHARC__SPAWN_FD);
  char *argv[] = {pool->worker_path, fdarg, NULL};
  rc = src < 0 ? errno : 0;
  if (rc == 0 && (rc = posix_spawn_file_actions_init(&fa)) == 0) {
    if ((rc = posix_spawnattr_init(&attr)) == 0) {
      rc = posix_spawn_file_actions_adddup2(&fa, src, SHARC__SPAWN_FD);
      if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
      if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
      if (rc == 0)
        rc = posix_spawn(pid, pool->worker_path, &fa, &attr, argv, environ);
      posix_spawnattr_destroy(&attr);
    }
    posix_spawn_file_actions_destroy(&fa);
  }
  if (src >= 0 && src != sock)
    close(src);
  if (rc != 0)
    return sharc__fail(pool, -rc, "worker %u: posix_spawn %s: %s", w,
                       pool->worker_path, strerror(rc));
  if (pool->opts.pin) /* while it loads its libraries (see sharc__pin_pid) */
    sharc__pin_pid(*pid, pool->plan.w[w].pu);
  *pidfd = (int)syscall(SYS_pidfd_open, *pid, 0);
  if (*pidfd < 0) {
    rc = errno;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    return sharc__fail(pool, -rc, "worker %u: pidfd_open: %s", w, strerror(rc));
  }
  return 0;
}

int sharc__spawn_hello(sharc_pool *pool, unsigned w, char *why, size_t len) {
  hello *h = malloc(sizeof *h);
  if (h == NULL)
    return SHARC_ENOMEM;
  unsigned nfds = 0;
  ssize_t got =
      sharc__recv_fds(pool->w[w].sock, h, sizeof *h, NULL, &nfds, MSG_DONTWAIT);
  int rc = got == (ssize_t)sizeof *h ? 0 : SHARC_EAGAIN;
  if (rc == 0 && h->err != 0) {
    h->why[sizeof h->why - 1] = '\0';
    snprintf(why, len, "%s", h->why);
    rc = h->err;
  } else if (rc == 0 && !pool->knames_set && h->nnames <= SHARC_KERNELS_MAX) {
    pool->knames = malloc((h->nnames ? h->nnames : 1) * sizeof *pool->knames);
    if (pool->knames != NULL) {
      for (unsigned i = 0; i < h->nnames; i++) {
        memcpy(pool->knames[i], h->names[i], SHARC_KERNEL_NAME_MAX);
        pool->knames[i][SHARC_KERNEL_NAME_MAX - 1] = '\0';
      }
      pool->nknames = h->nnames;
      pool->knames_set = 1;
    }
  }
  free(h);
  return rc;
}

/* --- the worker's side: the body of sharc-worker ------------------------ */

/* Loads every library in the list, keeping their handles in *handles (for
 * hooks by name), in order. */
static int load_libs(const char *libs, hello *h, void ***handles,
                     unsigned *n) {
  unsigned cap = 0;
  char path[PATH_MAX];
  size_t len;
  for (const char *p = libs; *p != '\0';) {
    p = next_entry(p, path, sizeof path, &len);
    if (len == 0)
      continue;
    /* Loaded for good: the kernels' code must stay mapped. */
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
      const char *e = dlerror();
      snprintf(h->why, sizeof h->why, "loading kernel library %.200s: %.280s",
               path, e ? e : "dlopen failed");
      return SHARC_ENOKERNEL;
    }
    if (*n == cap) {
      cap = cap ? cap * 2 : 8;
      void **q = realloc(*handles, cap * sizeof *q);
      if (q == NULL) {
        snprintf(h->why, sizeof h->why, "out of memory");
        return SHARC_ENOMEM;
      }
      *handles = q;
    }
    (*handles)[(*n)++] = lib;
  }
  return 0;
}

/* A named hook, or SHARC_ENOENT with the hook, the libraries and the
 * executable it was looked for in. */
static int find_hook(void *const *handles, unsigned n, const char *what,
                     const char *name, const char *libs, const char *exe,
                     void **fn, hello *h) {
  *fn = sharc__hook_find(handles, n, name);
  if (*fn != NULL)
    return 0;
  snprintf(h->why, sizeof h->why,
           "%.4s hook '%.100s' (sharc_pool_opts.%.4s_name) is in none of "
           "the kernel libraries (%.200s) nor in %.80s",
           what, name, what, libs[0] ? libs : "none loaded", exe);
  return SHARC_ENOENT;
}

int sharc_worker_main(int argc, char **argv) {
  char *end = NULL;
  long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || end == NULL || *end != '\0' || fd < 0 ||
      fcntl((int)fd, F_GETFD) < 0) {
    fprintf(stderr,
            "%s: a sharc worker; pools start it (start method "
            "spawn), not people\n",
            argc > 0 ? argv[0] : "sharc-worker");
    return 2;
  }
  int sock = (int)fd;
  size_t cap = sizeof(sharc__wire) +
               SHARC__MAX_WORKERS * sizeof(sharc_placement) + 65536;
  void *buf = malloc(cap);
  hello *h = calloc(1, sizeof *h);
  if (buf == NULL || h == NULL)
    _exit(126);
  int fds[2];
  unsigned nfds = 2;
  /* Blocks until the coordinator sends it, or closes the socket (it died):
   * then there is nothing to do. */
  ssize_t got = sharc__recv_fds(sock, buf, cap - 1, fds, &nfds, 0);
  if (got <= 0 || nfds != 2)
    _exit(127);
  sharc__wconf conf;
  if (sharc__wire_conf(buf, (size_t)got, fds[0], fds[1], sock, &conf) != 0) {
    h->err = SHARC_EINVAL;
    snprintf(h->why, sizeof h->why, "%.300s does not read this sharc's "
             "configuration or control block (another build of sharc?)",
             argv[0]);
    (void)sharc__send_fds(sock, h, sizeof *h, NULL, 0);
    _exit(SHARC__EXIT_LIBS);
  }
  close(fds[0]);
  const sharc__wire *wire = buf;
  /* after the placements: the libraries, then the hooks' names */
  char *libs = (char *)buf + got - wire->libs_len - wire->init_len -
               wire->fini_len;
  char init[SHARC__HOOK_NAME_MAX] = "", fini[SHARC__HOOK_NAME_MAX] = "";
  memcpy(init, libs + wire->libs_len, wire->init_len);
  memcpy(fini, libs + wire->libs_len + wire->init_len, wire->fini_len);
  libs[wire->libs_len] = '\0';
  /* Hook pointers cannot cross exec (the coordinator refuses them); named
   * hooks are found among the libraries. */
  conf.init = NULL;
  conf.fini = NULL;
  conf.init_arg = NULL;
  void **handles = NULL;
  unsigned nhandles = 0;
  h->err = load_libs(libs, h, &handles, &nhandles);
  if (h->err == 0 && init[0] != '\0')
    h->err = find_hook(handles, nhandles, "init", init, libs, argv[0],
                       (void **)&conf.init, h);
  if (h->err == 0 && fini[0] != '\0')
    h->err = find_hook(handles, nhandles, "fini", fini, libs, argv[0],
                       (void **)&conf.fini, h);
  free(handles);
  if (h->err == 0 && wire->want_kernels) {
    unsigned n = sharc_kernel_count();
    for (unsigned i = 0; i < n && i < SHARC_KERNELS_MAX; i++)
      snprintf(h->names[i], SHARC_KERNEL_NAME_MAX, "%s", sharc_kernel_name(i));
    h->nnames = n;
  }
  if (h->err != 0 || wire->want_kernels)
    (void)sharc__send_fds(sock, h, sizeof *h, NULL, 0);
  if (h->err != 0)
    _exit(SHARC__EXIT_LIBS);
  free(h);
  sharc__worker_main(&conf);
}
