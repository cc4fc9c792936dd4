/* Journals: which blocks of a job's indices are done, on disk beside its
 * output, so a job can resume after its coordinator died.
 *
 * File layout: a 128-byte header (magic, version, n, block size, block
 * count, a hash of what defines the job, the kernel name), then the bitmap,
 * one bit per block, in 64-bit little-endian words. Bits only ever go from
 * 0 to 1, and a bit is written only after the job's file-backed arrays were
 * synced, so a torn write can only under-report what is done. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fault.h"
#include "journal.h"
#include "paths.h"

#define JOURNAL_MAGIC "SHARCJN1"
#define JOURNAL_VERSION 1u
#define JOURNAL_BLOCKS_MAX (UINT64_C(1) << 20)

typedef struct journal_header {
  char magic[8];
  uint32_t version;
  uint32_t pad;
  uint64_t n, block, nblocks, hash;
  char kernel[SHARC_KERNEL_NAME_MAX];
  uint64_t reserved[2];
} journal_header;

_Static_assert(sizeof(journal_header) == 128, "journal header layout");

static uint64_t fnv(uint64_t h, const void *p, size_t len) {
  const unsigned char *c = p;
  for (size_t i = 0; i < len; i++)
    h = (h ^ c[i]) * UINT64_C(0x100000001b3);
  return h;
}

/* What defines the job's output: the kernel, n, the argument bytes and
 * every array's size. */
static uint64_t job_hash(const sharc_job_opts *o, const char *kernel,
                         uint64_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  h = fnv(h, kernel, strlen(kernel));
  h = fnv(h, &n, sizeof n);
  if (o->args_len)
    h = fnv(h, o->args, o->args_len);
  for (unsigned i = 0; i < o->narrays; i++) {
    uint64_t nb = o->arrays[i]->nbytes;
    h = fnv(h, &nb, sizeof nb);
  }
  return h;
}

uint64_t sharc__journal_block(uint64_t n, uint64_t grain) {
  uint64_t g = grain > 1 ? grain : 1;
  uint64_t b = n / JOURNAL_BLOCKS_MAX + (n % JOURNAL_BLOCKS_MAX != 0);
  if (b < 1)
    b = 1;
  return (b + g - 1) / g * g;
}

static int read_header(sharc_pool *pool, sharc__journal *j,
                       const journal_header *want) {
  journal_header h;
  ssize_t got = pread(j->fd, &h, sizeof h, 0);
  if (got != (ssize_t)sizeof h || memcmp(h.magic, JOURNAL_MAGIC, 8) != 0)
    return sharc__fail(pool, SHARC_EFORMAT, "%s: not a sharc journal", j->path);
  if (h.version != JOURNAL_VERSION)
    return sharc__fail(pool, SHARC_EFORMAT, "%s: journal version %u, not %u",
                       j->path, h.version, JOURNAL_VERSION);
  const char *field = NULL;
  if (h.n != want->n)
    field = "n";
  else if (h.block != want->block || h.nblocks != want->nblocks)
    field = "block size";
  else if (memcmp(h.kernel, want->kernel, sizeof h.kernel) != 0)
    field = "kernel";
  else if (h.hash != want->hash)
    field = "arguments or array sizes";
  if (field != NULL)
    return sharc__fail(pool, SHARC_EINVAL,
                       "%s: the journal is for another job (its %s differs: "
                       "journal n %llu, kernel '%.63s'; this job n %llu, "
                       "kernel '%s')",
                       j->path, field, (unsigned long long)h.n, h.kernel,
                       (unsigned long long)want->n, want->kernel);
  return 0;
}

/* A new journal, complete (header and empty bitmap, synced) under a
 * temporary name before it is renamed to its path: a coordinator killed
 * meanwhile leaves no journal, never an empty or partial one, and only
 * nothing or a regular file at the path is replaced. */
static int journal_create(sharc_pool *pool, sharc__journal *j,
                          const journal_header *h, const uint64_t *bits,
                          size_t bytes) {
  char *tmp = NULL;
  j->fd = sharc__out_tmp(j->path, &tmp, pool->msg, sizeof pool->msg);
  if (j->fd < 0) {
    int rc = j->fd;
    j->fd = -1;
    return rc;
  }
  int rc = 0;
  if (pwrite(j->fd, h, sizeof *h, 0) != (ssize_t)sizeof *h ||
      pwrite(j->fd, bits, bytes, sizeof *h) != (ssize_t)bytes ||
      fdatasync(j->fd) != 0)
    rc = sharc__fail(pool, -EIO, "%s: cannot write the journal: %s",
                     j->path, strerror(errno));
  if (rc == 0)
    rc = sharc__out_install(tmp, j->path, pool->msg, sizeof pool->msg);
  if (rc != 0) {
    unlink(tmp);
    close(j->fd);
    j->fd = -1;
  }
  free(tmp);
  return rc;
}

int sharc__journal_open(sharc_pool *pool, const sharc_job_opts *o,
                        const char *kernel, uint64_t n, sharc__journal *j) {
  memset(j, 0, sizeof *j);
  j->fd = -1;
  j->path = o->journal_path;
  j->n = n;
  j->block = sharc__journal_block(n, o->grain);
  j->nblocks = n / j->block + (n % j->block != 0);
  j->words = j->nblocks / 64 + 1;
  journal_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, JOURNAL_MAGIC, 8);
  h.version = JOURNAL_VERSION;
  h.n = n;
  h.block = j->block;
  h.nblocks = j->nblocks;
  h.hash = job_hash(o, kernel, n);
  snprintf(h.kernel, sizeof h.kernel, "%s", kernel);
  uint64_t shape[1] = {j->words};
  int rc = sharc__array_create(pool, SHARC_U64, 1, shape, &j->bits);
  if (rc != 0)
    return sharc__fail(pool, rc, "journal bitmap: %s", sharc_strerror(rc));
  uint64_t *bits = sharc_array_data(j->bits);
  size_t bytes = j->words * sizeof(uint64_t);
  if (!o->resume)
    return journal_create(pool, j, &h, bits, bytes);
  /* The journal must be a regular file, not one reached through a link. */
  j->fd = sharc__open_regular(j->path, O_RDWR | O_NOFOLLOW, pool->msg,
                              sizeof pool->msg);
  if (j->fd == -ENOENT)
    sharc__fail(pool, -ENOENT, "%s: no journal to resume from: %s", j->path,
                strerror(ENOENT));
  if (j->fd < 0) {
    rc = j->fd;
    j->fd = -1;
    return rc;
  }
  rc = read_header(pool, j, &h);
  if (rc != 0)
    return rc;
  if (pread(j->fd, bits, bytes, sizeof h) != (ssize_t)bytes)
    return sharc__fail(pool, SHARC_EFORMAT, "%s: the journal is truncated",
                       j->path);
  /* Bits past the last block would be nonsense: clear them. */
  if (j->nblocks % 64)
    bits[j->nblocks / 64] &= (UINT64_C(1) << (j->nblocks % 64)) - 1;
  else
    bits[j->nblocks / 64] = 0;
  return 0;
}

int sharc__journal_map(sharc_pool *pool, uint64_t n, uint64_t grain,
                       sharc__journal *j) {
  memset(j, 0, sizeof *j);
  j->fd = -1;
  j->n = n;
  j->block = sharc__journal_block(n, grain);
  j->nblocks = n / j->block + (n % j->block != 0);
  j->words = j->nblocks / 64 + 1;
  uint64_t shape[1] = {j->words};
  int rc = sharc__array_create(pool, SHARC_U64, 1, shape, &j->bits);
  if (rc != 0)
    return sharc__fail(pool, rc, "done map: %s", sharc_strerror(rc));
  return 0;
}

uint64_t sharc__journal_done(const sharc__journal *j) {
  const uint64_t *bits = sharc_array_data(j->bits);
  uint64_t done = 0;
  for (uint64_t b = 0; b < j->nblocks; b++) {
    if (bits[b / 64] >> (b % 64) & 1) {
      uint64_t e = (b + 1) * j->block;
      done += (e < j->n ? e : j->n) - b * j->block;
    }
  }
  return done;
}

void sharc__journal_missing(const sharc__journal *j, sharc__faults *f) {
  const uint64_t *bits = sharc_array_data(j->bits);
  for (uint64_t b = 0; b < j->nblocks;) {
    if (bits[b / 64] >> (b % 64) & 1) {
      b++;
      continue;
    }
    uint64_t e = b;
    while (e < j->nblocks && !(bits[e / 64] >> (e % 64) & 1))
      e++;
    sharc__faults_unclaimed(f, b * j->block, e * j->block);
    b = e;
  }
}

void sharc__journal_complete(sharc__journal *j, const sharc_quarantined *q,
                             size_t nq) {
  if (j->bits == NULL || j->nblocks == 0)
    return;
  uint64_t *keep = calloc(j->words, sizeof *keep); /* blocks not done */
  if (keep == NULL)
    return;
  for (size_t k = 0; k < nq; k++) {
    if (q[k].begin >= q[k].end || q[k].begin >= j->n)
      continue;
    uint64_t last = (q[k].end < j->n ? q[k].end : j->n) - 1;
    for (uint64_t b = q[k].begin / j->block; b <= last / j->block; b++)
      keep[b / 64] |= UINT64_C(1) << (b % 64);
  }
  _Atomic uint64_t *bits = sharc_array_data(j->bits);
  for (uint64_t w = 0; w * 64 < j->nblocks; w++) {
    uint64_t mark = ~keep[w];
    if (j->nblocks - w * 64 < 64) /* no bits past the last block */
      mark &= (UINT64_C(1) << (j->nblocks - w * 64)) - 1;
    atomic_fetch_or_explicit(&bits[w], mark, memory_order_release);
  }
  free(keep);
}

int sharc__journal_flush(sharc_pool *pool, const sharc_job_opts *o,
                         sharc__journal *j) {
  if (j->fd < 0)
    return 0;
  /* The data first: a bit must never claim what is not in the file. The
   * bitmap is copied before the sync, so it holds no bit set after it. */
  size_t bytes = j->words * sizeof(uint64_t);
  uint64_t *snap = malloc(bytes);
  if (snap == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "journal: out of memory");
  const _Atomic uint64_t *bits = sharc_array_data(j->bits);
  for (uint64_t w = 0; w < j->words; w++)
    snap[w] = atomic_load_explicit(&bits[w], memory_order_acquire);
  int rc = 0;
  for (unsigned i = 0; i < o->narrays && rc == 0; i++) {
    const sharc_array *a = o->arrays[i];
    if (a->path != NULL && (a->prot & PROT_WRITE) &&
        msync(a->base, a->map_len, MS_SYNC) != 0)
      rc = sharc__fail(pool, -errno, "%s: msync: %s", a->path, strerror(errno));
  }
  if (rc == 0 &&
      (pwrite(j->fd, snap, bytes, sizeof(journal_header)) != (ssize_t)bytes ||
       fdatasync(j->fd) != 0))
    rc = sharc__fail(pool, -EIO, "%s: cannot write the journal: %s", j->path,
                     strerror(errno));
  free(snap);
  j->last_flush_ns = sharc__now_ns();
  return rc;
}

void sharc__journal_close(sharc__journal *j) {
  if (j->fd >= 0)
    close(j->fd);
  j->fd = -1;
  sharc_array_destroy(j->bits);
  j->bits = NULL;
}
