/* Where memory is: page locations by move_pages(2) (no page is moved),
 * checked against the placement plan, and node distances, through libnuma
 * (sharc/numa.h). */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "numa_int.h"

/* Pages asked about per system call. */
#define BATCH 512

unsigned sharc__static_owner(uint64_t n, unsigned w, uint64_t i) {
  uint64_t base = n / w, rem = n % w;
  uint64_t big = rem * (base + 1); /* indices in the longer blocks */
  if (i < big)
    return (unsigned)(i / (base + 1));
  return (unsigned)(rem + (i - big) / base);
}

int sharc__page_planned(const sharc_plan *plan, uint64_t n, uint64_t e0,
                        uint64_t e1, int node) {
  if (plan->nworkers == 0 || e0 >= e1 || e1 > n)
    return 0;
  unsigned first = sharc__static_owner(n, plan->nworkers, e0);
  unsigned last = sharc__static_owner(n, plan->nworkers, e1 - 1);
  for (unsigned w = first; w <= last; w++) {
    int want = plan->w[w].numa;
    if (want < 0 || want == node)
      return 1;
  }
  return 0;
}

/* numa_available() is one get_mempolicy(2) call: asked each time rather
 * than cached in a variable that threads would race on. */
static int numa_ok(void) { return numa_available() >= 0; }

/* One batch of k <= BATCH pages from the page-aligned base. */
static int batch_nodes(char *base, size_t k, long ps, int *nodes) {
  unsigned char vec[BATCH];
  void *pages[BATCH];
  int status[BATCH];
  size_t at[BATCH], m = 0;
  /* Only pages already in memory are asked about: asking maps them, and
   * mapping a page that is not there would allocate it. */
  if (mincore(base, k * (size_t)ps, vec) != 0)
    return errno == ENOMEM ? SHARC_EINVAL : -errno;
  for (size_t i = 0; i < k; i++) {
    nodes[i] = -1;
    if ((vec[i] & 1) == 0)
      continue;
    /* Resident but maybe not mapped here (a shared page another process
     * touched): a read maps it without allocating or moving it. */
    (void)*(volatile const char *)(base + i * (size_t)ps);
    pages[m] = base + i * (size_t)ps;
    at[m++] = i;
  }
  if (m == 0)
    return 0;
  if (move_pages(0, (unsigned long)m, pages, NULL, status, 0) != 0)
    return -errno;
  for (size_t j = 0; j < m; j++)
    nodes[at[j]] = status[j] >= 0 ? status[j] : -1;
  return 0;
}

int64_t sharc_mem_nodes(const void *addr, size_t len, int *nodes, size_t max) {
  if ((addr == NULL && len > 0) || (nodes == NULL && max > 0))
    return SHARC_EINVAL;
  if (!numa_ok())
    return SHARC_ENOTSUP;
  long ps = sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)addr & ~((uintptr_t)ps - 1);
  uintptr_t end = (uintptr_t)addr + len;
  if (end < (uintptr_t)addr)
    return SHARC_EINVAL;
  size_t npages =
      len == 0 ? 0 : (end - start + (uintptr_t)ps - 1) / (uintptr_t)ps;
  if (npages > max)
    npages = max;
  if (npages > INT64_MAX)
    return SHARC_EOVERFLOW;
  for (size_t done = 0; done < npages;) {
    size_t k = npages - done < BATCH ? npages - done : BATCH;
    int rc =
        batch_nodes((char *)start + done * (size_t)ps, k, ps, nodes + done);
    if (rc != 0)
      return rc;
    done += k;
  }
  return (int64_t)npages;
}

/* The nodes of the plan's workers (all nodes when none is known). */
static struct bitmask *worker_nodes(const sharc_plan *plan) {
  struct bitmask *m = numa_allocate_nodemask();
  if (m == NULL)
    return NULL;
  for (unsigned w = 0; w < plan->nworkers; w++)
    if (plan->w[w].numa >= 0 && plan->w[w].numa <= numa_max_node())
      numa_bitmask_setbit(m, (unsigned)plan->w[w].numa);
  if (numa_bitmask_weight(m) == 0)
    copy_bitmask_to_bitmask(numa_all_nodes_ptr, m);
  return m;
}

int sharc_array_interleave(sharc_pool *pool, sharc_array *a) {
  if (pool == NULL || a == NULL || a->pool != pool)
    return SHARC_EINVAL;
  if (!numa_ok())
    return SHARC_ENOTSUP;
  if (a->backing != SHARC_BACKING_ANON && a->backing != SHARC_BACKING_SHM)
    return SHARC_ENOTSUP;
  struct bitmask *m = worker_nodes(sharc_pool_plan(pool));
  if (m == NULL)
    return SHARC_ENOMEM;
  int rc = 0;
  if (a->map_len > 0 &&
      mbind(a->base, a->map_len, MPOL_INTERLEAVE, m->maskp, m->size + 1,
            MPOL_MF_MOVE) != 0)
    rc = -errno;
  numa_free_nodemask(m);
  if (rc == 0)
    a->interleaved = 1;
  return rc;
}

int sharc_array_page_census(sharc_pool *pool, const sharc_array *a,
                            sharc_page_census *out) {
  if (pool == NULL || a == NULL || out == NULL || out->size != sizeof *out ||
      (out->max_nodes > 0 && out->on_node == NULL))
    return SHARC_EINVAL;
  uint64_t *on_node = out->on_node;
  unsigned max_nodes = out->max_nodes;
  *out = (sharc_page_census)SHARC_PAGE_CENSUS_INIT;
  out->on_node = on_node;
  out->max_nodes = max_nodes;
  if (max_nodes > 0)
    memset(on_node, 0, max_nodes * sizeof *on_node);
  long ps = sysconf(_SC_PAGESIZE);
  out->page_size = ps;
  const sharc_plan *plan = sharc_pool_plan(pool);
  const char *data = sharc_array_data(a);
  uint64_t nbytes = sharc_array_nbytes(a), n = sharc_array_size(a);
  uint64_t item = sharc_dtype_size(sharc_array_dtype(a));
  if (nbytes == 0 || item == 0 || data == NULL)
    return 0;
  uintptr_t lo = (uintptr_t)data, hi = lo + nbytes;
  uintptr_t first = lo & ~((uintptr_t)ps - 1);
  struct bitmask *spread = a->interleaved ? worker_nodes(plan) : NULL;
  if (a->interleaved && spread == NULL)
    return SHARC_ENOMEM;
  int nodes[BATCH];
  for (uintptr_t p = first; p < hi; p += (uintptr_t)BATCH * (uintptr_t)ps) {
    size_t len = hi - p < (uintptr_t)BATCH * (uintptr_t)ps
                     ? (size_t)(hi - p)
                     : (size_t)BATCH * (size_t)ps;
    int64_t k = sharc_mem_nodes((const void *)p, len, nodes, BATCH);
    if (k < 0) {
      if (spread != NULL)
        numa_free_nodemask(spread);
      return (int)k;
    }
    for (int64_t i = 0; i < k; i++) {
      uintptr_t ps0 = p + (uintptr_t)i * (uintptr_t)ps,
                ps1 = ps0 + (uintptr_t)ps;
      uint64_t e0 = ((ps0 > lo ? ps0 : lo) - lo) / item;
      uint64_t e1 = ((ps1 < hi ? ps1 : hi) - lo + item - 1) / item;
      int node = nodes[i];
      out->pages++;
      if (node < 0) {
        out->absent++;
        continue;
      }
      if ((unsigned)node < max_nodes)
        out->on_node[node]++;
      else
        out->other_nodes++;
      int planned = spread != NULL
                        ? numa_bitmask_isbitset(spread, (unsigned)node)
                        : sharc__page_planned(plan, n, e0, e1 < n ? e1 : n,
                                              node);
      if (planned)
        out->as_planned++;
      else
        out->elsewhere++;
    }
  }
  if (spread != NULL)
    numa_free_nodemask(spread);
  return 0;
}

int sharc_numa_max_node(void) {
  if (!numa_ok())
    return SHARC_ENOTSUP;
  return numa_max_node();
}

int sharc_numa_distance(int a, int b) {
  if (!numa_ok())
    return SHARC_ENOTSUP;
  int max = numa_max_node();
  if (a < 0 || b < 0 || a > max || b > max)
    return SHARC_EINVAL;
  int d = numa_distance(a, b);
  return d > 0 ? d : SHARC_ENOTSUP;
}
