/* NUMA page locations (sharc/numa.h): the placement rule on synthetic
 * plans, page nodes against get_mempolicy(2), untouched pages left
 * untouched, and the census of a pool's array. */
#include <numaif.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "numa_int.h"

Test(numa, static_owner_matches_the_static_split) {
  /* 10 indices over 4 workers: blocks of 3, 3, 2, 2. */
  const unsigned want[10] = {0, 0, 0, 1, 1, 1, 2, 2, 3, 3};
  for (uint64_t i = 0; i < 10; i++)
    cr_assert_eq(sharc__static_owner(10, 4, i), want[i], "index %llu",
                 (unsigned long long)i);
  /* Fewer indices than workers: one each. */
  for (uint64_t i = 0; i < 3; i++)
    cr_assert_eq(sharc__static_owner(3, 8, i), i);
}

Test(numa, a_page_may_be_on_the_node_of_any_owner_of_its_elements) {
  sharc_plan plan = SHARC_PLAN_INIT;
  char msg[256];
  /* 4 workers on 2 nodes: workers 0 and 1 on the first, 2 and 3 on the
   * second. */
  cr_assert_eq(
      sharc_plan_make("pack:2 numa:1 core:2 pu:1", 4, &plan, msg, sizeof msg),
      0, "%s", msg);
  int n0 = plan.w[0].numa, n1 = plan.w[2].numa;
  cr_assert_eq(plan.w[1].numa, n0);
  cr_assert_eq(plan.w[3].numa, n1);
  cr_assert_neq(n0, n1);
  /* 1000 elements: blocks [0,250) [250,500) [500,750) [750,1000). */
  cr_assert_eq(sharc__page_planned(&plan, 1000, 0, 250, n0), 1);
  cr_assert_eq(sharc__page_planned(&plan, 1000, 0, 250, n1), 0);
  /* Straddling workers 1 and 2: either node. */
  cr_assert_eq(sharc__page_planned(&plan, 1000, 400, 600, n0), 1);
  cr_assert_eq(sharc__page_planned(&plan, 1000, 400, 600, n1), 1);
  cr_assert_eq(sharc__page_planned(&plan, 1000, 500, 1000, n0), 0);
  cr_assert_eq(sharc__page_planned(&plan, 1000, 500, 1000, n1), 1);
  /* A node no worker is on, and empty or out-of-range pages. */
  cr_assert_eq(sharc__page_planned(&plan, 1000, 0, 1000, 7), 0);
  cr_assert_eq(sharc__page_planned(&plan, 1000, 5, 5, n0), 0);
  cr_assert_eq(sharc__page_planned(&plan, 1000, 0, 1001, n0), 0);
  /* A worker whose node is unknown accepts any. */
  plan.w[3].numa = -1;
  cr_assert_eq(sharc__page_planned(&plan, 1000, 900, 1000, 7), 1);
  sharc_plan_free(&plan);
}

Test(numa, page_nodes_agree_with_get_mempolicy_and_spare_untouched_pages) {
  if (sharc_numa_max_node() < 0)
    cr_skip_test("no NUMA support in this kernel");
  long ps = sysconf(_SC_PAGESIZE);
  const size_t npages = 64;
  char *m = mmap(NULL, npages * (size_t)ps, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(m, MAP_FAILED);
  /* Touch the even pages only. */
  for (size_t i = 0; i < npages; i += 2)
    m[i * (size_t)ps] = 1;
  int nodes[64];
  cr_assert_eq(sharc_mem_nodes(m, npages * (size_t)ps, nodes, npages),
               (int64_t)npages);
  for (size_t i = 0; i < npages; i++) {
    if (i % 2 == 1) {
      cr_assert_eq(nodes[i], -1, "untouched page %zu", i);
      continue;
    }
    int node = -1;
    cr_assert_eq(get_mempolicy(&node, NULL, 0, m + i * (size_t)ps,
                               MPOL_F_NODE | MPOL_F_ADDR),
                 0);
    cr_assert_eq(nodes[i], node, "page %zu", i);
    cr_assert(node >= 0 && node <= sharc_numa_max_node());
  }
  /* Asking allocated nothing: the odd pages are still not in memory. */
  unsigned char vec[64];
  cr_assert_eq(mincore(m, npages * (size_t)ps, vec), 0);
  for (size_t i = 1; i < npages; i += 2)
    cr_assert_eq(vec[i] & 1, 0, "page %zu was allocated", i);
  /* An unaligned start counts from its page; max limits the count. */
  cr_assert_eq(sharc_mem_nodes(m + 100, 2 * (size_t)ps, nodes, npages), 3);
  cr_assert_eq(sharc_mem_nodes(m, npages * (size_t)ps, nodes, 5), 5);
  cr_assert_eq(sharc_mem_nodes(m, 0, nodes, npages), 0);
  cr_assert_eq(sharc_mem_nodes(NULL, 10, nodes, npages), SHARC_EINVAL);
  munmap(m, npages * (size_t)ps);
}

/* a[i] = i: every page written, by the workers that claim it */
static int numa_fill(const sharc_task *t, uint64_t b, uint64_t e) {
  double *a = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    a[i] = (double)i;
  return 0;
}
SHARC_KERNEL(numa_fill)

Test(numa, a_pool_array_is_where_the_plan_says) {
  if (sharc_numa_max_node() < 0)
    cr_skip_test("no NUMA support in this kernel");
  sharc_pool *pool = test_pool(2);
  const uint64_t n = 3 * 1000 * 1000 + 7; /* not a whole number of pages */
  sharc_array *a;
  cr_assert_eq(sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &a), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  cr_assert_eq(sharc_run(pool, "numa_fill", n, &o, NULL), 0, "%s",
               sharc_pool_errmsg(pool));
  unsigned nodes = (unsigned)sharc_numa_max_node() + 1;
  uint64_t *per_node = calloc(nodes, sizeof *per_node);
  cr_assert_not_null(per_node);
  sharc_page_census c = SHARC_PAGE_CENSUS_INIT;
  c.on_node = per_node;
  c.max_nodes = nodes;
  cr_assert_eq(sharc_array_page_census(pool, a, &c), 0);
  long ps = sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)sharc_array_data(a), hi = lo + n * 8;
  uint64_t pages =
      (hi + (uintptr_t)ps - 1) / (uintptr_t)ps - lo / (uintptr_t)ps;
  cr_assert_eq(c.page_size, ps);
  cr_assert_eq(c.pages, pages);
  cr_assert_eq(c.absent, 0, "every page was written");
  cr_assert_eq(c.as_planned + c.elsewhere, pages);
  cr_assert_eq(c.other_nodes, 0);
  uint64_t total = 0;
  for (unsigned k = 0; k < nodes; k++)
    total += c.on_node[k];
  cr_assert_eq(total, pages);
  if (nodes == 1) {
    cr_assert_eq(c.on_node[0], pages);
    cr_assert_eq(c.as_planned, pages);
  }
  /* The same job can take the census into its report, per array. */
  sharc_job_opts oc = SHARC_JOB_OPTS_INIT;
  oc.arrays = &a;
  oc.narrays = 1;
  oc.census = 1;
  sharc_report rep = SHARC_REPORT_INIT;
  cr_assert_eq(sharc_run(pool, "numa_fill", n, &oc, &rep), 0, "%s",
               sharc_pool_errmsg(pool));
  cr_assert_eq(rep.ncensus, 1);
  const sharc_page_census *rc = &rep.census[0];
  cr_assert_eq(rc->pages, pages);
  cr_assert_eq(rc->absent, 0);
  cr_assert_eq(rc->as_planned, c.as_planned);
  cr_assert_eq(rc->max_nodes, nodes);
  for (unsigned k = 0; k < nodes; k++)
    cr_assert_eq(rc->on_node[k], c.on_node[k], "node %u", k);
  char *json = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&json, &len);
  cr_assert_eq(sharc_report_json(&rep, f), 0);
  fclose(f);
  cr_assert(strstr(json, "\"pages\":[{\"array\":0") != NULL, "%s", json);
  free(json);
  sharc_report_free(&rep);
  /* A census of another size is refused. */
  c.size = 8;
  cr_assert_eq(sharc_array_page_census(pool, a, &c), SHARC_EINVAL);
  free(per_node);
  sharc_pool_destroy(pool);
}

Test(numa, distances_are_symmetric_and_ten_to_self) {
  int max = sharc_numa_max_node();
  if (max < 0)
    cr_skip_test("no NUMA support in this kernel");
  for (int a = 0; a <= max; a++) {
    cr_assert_eq(sharc_numa_distance(a, a), 10);
    for (int b = 0; b <= max; b++)
      cr_assert_eq(sharc_numa_distance(a, b), sharc_numa_distance(b, a));
  }
  cr_assert_eq(sharc_numa_distance(max + 1, 0), SHARC_EINVAL);
  cr_assert_eq(sharc_numa_distance(-1, 0), SHARC_EINVAL);
}

Test(numa, an_interleaved_array_has_the_interleave_policy_and_every_page_planned) {
  if (sharc_numa_max_node() < 0)
    cr_skip_test("no NUMA support in this kernel");
  sharc_pool *pool = test_pool(2);
  const uint64_t n = 1000 * 1000;
  sharc_array *a;
  cr_assert_eq(sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &a), 0);
  cr_assert_eq(sharc_array_interleave(pool, a), 0);
  int mode = -1;
  unsigned long mask[16] = {0};
  cr_assert_eq(get_mempolicy(&mode, mask, 16 * 8 * sizeof(unsigned long),
                             sharc_array_data(a), MPOL_F_ADDR),
               0, "get_mempolicy: %s", strerror(errno));
  cr_assert_eq(mode, MPOL_INTERLEAVE, "the array's policy is %d", mode);
  /* Every node of a worker is in the interleave set. */
  const sharc_plan *plan = sharc_pool_plan(pool);
  for (unsigned w = 0; w < plan->nworkers; w++) {
    int node = plan->w[w].numa;
    if (node >= 0)
      cr_assert(mask[node / (8 * sizeof(unsigned long))] >>
                    (node % (8 * sizeof(unsigned long))) & 1,
                "node %d of worker %u is not in the set", node, w);
  }
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  cr_assert_eq(sharc_run(pool, "numa_fill", n, &o, NULL), 0, "%s",
               sharc_pool_errmsg(pool));
  sharc_page_census c = SHARC_PAGE_CENSUS_INIT;
  cr_assert_eq(sharc_array_page_census(pool, a, &c), 0);
  cr_assert_eq(c.absent, 0);
  cr_assert_eq(c.elsewhere, 0, "a page outside the workers' nodes");
  cr_assert_eq(c.as_planned, c.pages);
  /* A file-backed array is refused: page-cache pages do not follow it. */
  char path[] = "/tmp/sharc-numa-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  unlink(path);
  sharc_array *f;
  uint64_t shape[1] = {4096};
  cr_assert_eq(sharc_array_open_raw(pool, path, SHARC_RDWR | SHARC_CREATE,
                                    SHARC_U8, 1, shape, 0, &f),
               0, "%s", sharc_pool_errmsg(pool));
  cr_assert_eq(sharc_array_interleave(pool, f), SHARC_ENOTSUP);
  cr_assert_eq(sharc_array_interleave(NULL, f), SHARC_EINVAL);
  unlink(path);
  sharc_pool_destroy(pool);
}
