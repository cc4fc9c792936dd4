/* sharc: where memory is — NUMA page locations and node distances
 * (through libnuma).
 *
 * A pool places array pages near the workers that own them (sharc/array.h:
 * pages are bound per worker block before they are reserved; the adaptive
 * schedule gives each worker the matching block of indices). These calls
 * check that placement against the plan after the fact, by asking the
 * kernel where each page is (move_pages(2) without moving anything), and
 * give the machine's node distances. On a machine with one NUMA node every
 * page is on node 0 and the check is trivially met. */
#ifndef SHARC_NUMA_H
#define SHARC_NUMA_H

#include "array.h"
#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where an array's pages are, against where the plan wants them. Made with
 * SHARC_PAGE_CENSUS_INIT (size is checked); for counts per node, point
 * on_node to max_nodes counters of the caller's (sharc_numa_max_node() + 1
 * covers every node). */
typedef struct sharc_page_census {
  size_t size;
  uint64_t pages;      /* pages of the array's data looked at */
  uint64_t absent;     /* not in memory, or never written: untouched,
                          reserved but not yet written (the page cache
                          does not count those as resident), swapped out */
  uint64_t as_planned; /* on the node of a worker owning an element in it */
  uint64_t elsewhere;  /* in memory on another node */
  long page_size;       /* bytes per page */
  /* Pages in memory per node: on_node[k] for node k < max_nodes (the
   * caller's array, or the report's own in a report; NULL: not counted),
   * and those on nodes >= max_nodes in other_nodes. */
  uint64_t *on_node;
  unsigned max_nodes;
  uint64_t other_nodes;
} sharc_page_census;

#ifndef __cplusplus
#define SHARC_PAGE_CENSUS_INIT {.size = sizeof(sharc_page_census)}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_PAGE_CENSUS_INIT                                                 \
  {sizeof(sharc_page_census), 0, 0, 0, 0, 0, NULL, 0, 0}
#endif

/* The NUMA node of each page of [addr, addr + len) (addr rounded down to a
 * page): nodes[i] for page i, or -1 when the page is not resident (as
 * mincore(2) says), for at most max pages. Resident pages not yet mapped
 * in this process (a shared page another process wrote) are read once to
 * map them, never written, so nothing is allocated or moved; other pages
 * are not touched. Returns the
 * number of pages written, or SHARC_EINVAL, SHARC_ENOTSUP (no NUMA
 * support in this kernel) or a negated errno. Thread-safe. */
SHARC_API int64_t sharc_mem_nodes(const void *addr, size_t len, int *nodes,
                                  size_t max);

/* Counts where the pages of array a (made by pool) are, into out (made
 * with SHARC_PAGE_CENSUS_INIT, its on_node and max_nodes as the caller set
 * them; the counts are zeroed first). A page is as
 * planned when its node is the node of one of the workers whose block of
 * the static split (worker w owns indices [w n / W, (w + 1) n / W), the
 * first n % W workers one more) holds an element of the page: a page
 * straddling two blocks may be on either node. For an array spread by
 * sharc_array_interleave(), a page is as planned on any of the workers'
 * nodes. Returns 0 or a negative code as sharc_mem_nodes() (SHARC_EINVAL
 * for a census of another size). Blocks only to read page states; not to
 * be called from a kernel. A job can take the census of all its arrays
 * into its report (sharc_job_opts.census). */
SHARC_API int sharc_array_page_census(sharc_pool *pool, const sharc_array *a,
                                      sharc_page_census *out);

/* Spreads the pages of array a (made by pool) round-robin over the NUMA
 * nodes of the pool's workers (MPOL_INTERLEAVE, through libnuma's mbind),
 * for arrays every worker reads all of (a lookup table, a small input):
 * no node's memory becomes the bottleneck. Pages already in memory are
 * moved where the kernel allows; pages touched later, by any worker,
 * follow the policy, which belongs to the shared object (memfd and named
 * shared memory arrays). The page census then counts a page as planned
 * when it is on one of those nodes. Returns 0, SHARC_ENOTSUP (no NUMA
 * support, or a file-backed array: page-cache pages follow the policy of
 * whoever reads them first), SHARC_EINVAL, or a negated errno. On one node
 * it sets the policy and nothing moves. Not to be called while a job uses
 * the array. */
SHARC_API int sharc_array_interleave(sharc_pool *pool, sharc_array *a);

/* The distance between NUMA nodes a and b as the firmware reports it (10
 * for a node to itself; larger is farther), or a negative code:
 * SHARC_ENOTSUP without NUMA support, SHARC_EINVAL for a node that does
 * not exist. max_node gives the highest node index (0 on a machine with
 * one node). Thread-safe. */
SHARC_API int sharc_numa_distance(int a, int b);
SHARC_API int sharc_numa_max_node(void);

#ifdef __cplusplus
}
#endif
#endif
