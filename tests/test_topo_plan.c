/* Placement plans (lib/topo_plan.c) checked entry by entry on synthetic
 * topologies, so the NUMA policy is tested on any machine. Expected maps
 * were derived by hand from the policy in include/sharc/topo.h and from
 * hwloc's synthetic numbering (PU and NUMA OS indexes follow logical order
 * unless "indexes=" says otherwise; lstopo-no-graphics -i shows it). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <hwloc.h>

#include "sharc/error.h"
#include "sharc/topo.h"
#include "topo_plan.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Asserts every entry of the plan: worker id, PU, NUMA node and core. */
static void expect_plan(const sharc_plan *p, unsigned n, const int *pu,
                        const int *numa, const int *core) {
  cr_assert_eq(p->nworkers, n, "nworkers %u, expected %u", p->nworkers, n);
  cr_assert_not_null(p->w);
  for (unsigned i = 0; i < n; i++) {
    cr_expect_eq(p->w[i].worker, i, "worker id at %u", i);
    cr_expect_eq(p->w[i].pu, pu[i], "worker %u: pu %d, expected %d", i,
                 p->w[i].pu, pu[i]);
    cr_expect_eq(p->w[i].numa, numa[i], "worker %u: numa %d, expected %d", i,
                 p->w[i].numa, numa[i]);
    cr_expect_eq(p->w[i].core, core[i], "worker %u: core %d, expected %d", i,
                 p->w[i].core, core[i]);
  }
}

static sharc_plan make(const char *synthetic, unsigned workers) {
  sharc_plan p = SHARC_PLAN_INIT;
  char msg[256] = "";
  int rc = sharc_plan_make(synthetic, workers, &p, msg, sizeof msg);
  cr_assert_eq(rc, 0, "sharc_plan_make(\"%s\", %u): %d %s", synthetic, workers,
               rc, msg);
  return p;
}

/* Plans over topo with only the PUs in `list` (hwloc list syntax) usable. */
static sharc_plan make_restricted(const char *synthetic, const char *list,
                                  unsigned workers) {
  hwloc_topology_t topo;
  hwloc_bitmap_t all;
  char msg[256] = "";
  cr_assert_eq(sharc__topo_load(synthetic, &topo, &all, msg, sizeof msg), 0,
               "%s", msg);
  hwloc_bitmap_t usable = hwloc_bitmap_alloc();
  cr_assert_eq(hwloc_bitmap_list_sscanf(usable, list), 0);
  sharc_plan p = SHARC_PLAN_INIT;
  int rc =
      sharc__plan_from_topology(topo, usable, workers, &p, msg, sizeof msg);
  cr_assert_eq(rc, 0, "plan over %s: %d %s", list, rc, msg);
  hwloc_bitmap_free(usable);
  hwloc_bitmap_free(all);
  hwloc_topology_destroy(topo);
  return p;
}

/* ---- 2 packages x 2 NUMA nodes x 8 cores, no SMT ------------------------ */

#define PACK2 "pack:2 numa:2 core:8 pu:1"

Test(plan_pack2_numa2, four_workers_take_first_core_of_each_node) {
  sharc_plan p = make(PACK2, 4);
  static const int pu[] = {0, 8, 16, 24};
  static const int numa[] = {0, 1, 2, 3};
  static const int core[] = {0, 8, 16, 24};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.npus, 32);
  cr_expect_eq(p.nnodes, 4);
  cr_expect_eq(p.oversubscribed, 0);
  sharc_plan_free(&p);
}

Test(plan_pack2_numa2, eight_workers_in_blocks_of_two_per_node) {
  sharc_plan p = make(PACK2, 8);
  static const int pu[] = {0, 1, 8, 9, 16, 17, 24, 25};
  static const int numa[] = {0, 0, 1, 1, 2, 2, 3, 3};
  static const int core[] = {0, 1, 8, 9, 16, 17, 24, 25};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.npus, 32);
  cr_expect_eq(p.nnodes, 4);
  cr_expect_eq(p.oversubscribed, 0);
  sharc_plan_free(&p);
}

Test(plan_pack2_numa2, thirty_two_workers_fill_every_pu_in_node_blocks) {
  sharc_plan p = make(PACK2, 32);
  static const int pu[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                           11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                           22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  static const int numa[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                             2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  static const int core[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                             11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                             22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.oversubscribed, 0);
  sharc_plan_free(&p);
}

Test(plan_pack2_numa2, zero_workers_means_one_per_usable_pu) {
  sharc_plan zero = make(PACK2, 0);
  sharc_plan all = make(PACK2, 32);
  cr_assert_eq(zero.nworkers, 32);
  cr_expect_eq(zero.oversubscribed, 0);
  cr_expect_eq(memcmp(zero.w, all.w, 32 * sizeof *zero.w), 0);
  sharc_plan_free(&zero);
  sharc_plan_free(&all);
}

/* ---- one node, 4 cores x 2 SMT threads --------------------------------- */

#define SMT "numa:1 core:4 pu:2"

Test(plan_smt, four_workers_take_one_pu_per_core) {
  sharc_plan p = make(SMT, 4);
  static const int pu[] = {0, 2, 4, 6};
  static const int numa[] = {0, 0, 0, 0};
  static const int core[] = {0, 1, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.npus, 8);
  cr_expect_eq(p.nnodes, 1);
  cr_expect_eq(p.oversubscribed, 0);
  sharc_plan_free(&p);
}

Test(plan_smt, eight_workers_use_siblings_after_every_core) {
  sharc_plan p = make(SMT, 8);
  static const int pu[] = {0, 2, 4, 6, 1, 3, 5, 7};
  static const int numa[] = {0, 0, 0, 0, 0, 0, 0, 0};
  static const int core[] = {0, 1, 2, 3, 0, 1, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.oversubscribed, 0);
  sharc_plan_free(&p);
}

Test(plan_smt, thirty_two_workers_wrap_over_the_eight_pu_order) {
  sharc_plan p = make(SMT, 32);
  static const int pu[] = {0, 2, 4, 6, 1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7,
                           0, 2, 4, 6, 1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7};
  static const int numa[32] = {0};
  static const int core[] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
                             0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.npus, 8);
  cr_expect_eq(p.oversubscribed, 1);
  sharc_plan_free(&p);
}

/* Linux numbers SMT siblings i and i+ncores: the order must follow cores,
 * not OS indexes, and report OS indexes. */
Test(plan_smt, linux_style_sibling_numbering_follows_cores) {
  sharc_plan p = make("core:4 pu:2(indexes=0,4,1,5,2,6,3,7)", 8);
  static const int pu[] = {0, 1, 2, 3, 4, 5, 6, 7};
  static const int numa[] = {0, 0, 0, 0, 0, 0, 0, 0};
  static const int core[] = {0, 1, 2, 3, 0, 1, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

/* ---- topologies without some levels ------------------------------------ */

Test(plan_flat, no_numa_level_is_one_node_with_os_index_zero) {
  sharc_plan p = make("core:4 pu:1", 4);
  static const int pu[] = {0, 1, 2, 3};
  static const int numa[] = {0, 0, 0, 0};
  static const int core[] = {0, 1, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.nnodes, 1);
  cr_expect_eq(p.npus, 4);
  sharc_plan_free(&p);
}

Test(plan_flat, pus_without_cores_report_core_minus_one) {
  sharc_plan p = make("pu:4", 0);
  static const int pu[] = {0, 1, 2, 3};
  static const int numa[] = {0, 0, 0, 0};
  static const int core[] = {-1, -1, -1, -1};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

Test(plan_flat, numa_reports_os_index_not_logical_index) {
  sharc_plan p = make("numa:2(indexes=1,0) core:2 pu:1", 2);
  static const int pu[] = {0, 2};
  static const int numa[] = {1, 0};
  static const int core[] = {0, 2};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

/* ---- asymmetric usable sets: proportional shares ------------------------ */

/* Usable PUs per node of PACK2: node 0 all 8, node 1 PUs 8-11, node 2 none,
 * node 3 PUs 24,26,28,30. Counts 8:4:0:4 of 16. */
#define ASYM "0-11,24,26,28,30"

Test(plan_asym, node_without_usable_pus_is_skipped) {
  sharc_plan p = make_restricted(PACK2, ASYM, 16);
  static const int pu[] = {0, 1, 2,  3,  4,  5,  6,  7,
                           8, 9, 10, 11, 24, 26, 28, 30};
  static const int numa[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 3, 3, 3, 3};
  static const int core[] = {0, 1, 2,  3,  4,  5,  6,  7,
                             8, 9, 10, 11, 24, 26, 28, 30};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.npus, 16);
  cr_expect_eq(p.nnodes, 3);
  cr_expect_eq(p.oversubscribed, 0);
  sharc_plan_free(&p);
}

/* Quotas 1, 0.5, 0.5: the tied remainder goes to the lower node. */
Test(plan_asym, two_workers_tie_goes_to_lower_node) {
  sharc_plan p = make_restricted(PACK2, ASYM, 2);
  static const int pu[] = {0, 8};
  static const int numa[] = {0, 1};
  static const int core[] = {0, 8};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

/* Quotas 1.5, 0.75, 0.75: remainders 0.75 beat 0.5. */
Test(plan_asym, three_workers_largest_remainders_win) {
  sharc_plan p = make_restricted(PACK2, ASYM, 3);
  static const int pu[] = {0, 8, 24};
  static const int numa[] = {0, 1, 3};
  static const int core[] = {0, 8, 24};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

/* Quotas 2.5, 1.25, 1.25: node 0 gets the leftover worker. */
Test(plan_asym, five_workers_split_three_one_one) {
  sharc_plan p = make_restricted(PACK2, ASYM, 5);
  static const int pu[] = {0, 1, 2, 8, 24};
  static const int numa[] = {0, 0, 0, 1, 3};
  static const int core[] = {0, 1, 2, 8, 24};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

/* Quotas 3, 1.5, 1.5: tie between nodes 1 and 3 goes to node 1. */
Test(plan_asym, six_workers_split_three_two_one) {
  sharc_plan p = make_restricted(PACK2, ASYM, 6);
  static const int pu[] = {0, 1, 2, 8, 9, 24};
  static const int numa[] = {0, 0, 0, 1, 1, 3};
  static const int core[] = {0, 1, 2, 8, 9, 24};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

Test(plan_asym, twenty_workers_wrap_over_the_sixteen_usable_pus) {
  sharc_plan p = make_restricted(PACK2, ASYM, 20);
  static const int pu[] = {0,  1,  2,  3,  4,  5,  6, 7, 8, 9,
                           10, 11, 24, 26, 28, 30, 0, 1, 2, 3};
  static const int numa[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
                             1, 1, 3, 3, 3, 3, 0, 0, 0, 0};
  static const int core[] = {0,  1,  2,  3,  4,  5,  6, 7, 8, 9,
                             10, 11, 24, 26, 28, 30, 0, 1, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.oversubscribed, 1);
  sharc_plan_free(&p);
}

/* "numa:2 core:2 pu:2" without PU 0: node 0 keeps 1,2,3 (core 0 has only
 * its second PU left, which still counts as that core's first usable PU),
 * node 1 keeps 4-7. */
Test(plan_asym, partly_usable_core_counts_its_first_usable_pu) {
  sharc_plan p = make_restricted("numa:2 core:2 pu:2", "1-7", 7);
  static const int pu[] = {1, 2, 3, 4, 6, 5, 7};
  static const int numa[] = {0, 0, 0, 1, 1, 1, 1};
  static const int core[] = {0, 1, 1, 2, 3, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  cr_expect_eq(p.npus, 7);
  cr_expect_eq(p.nnodes, 2);
  sharc_plan_free(&p);
}

/* Quotas 3/7*3 = 1.29 and 3/7*4 = 1.71: node 1 gets the leftover. */
Test(plan_asym, three_of_seven_split_one_two) {
  sharc_plan p = make_restricted("numa:2 core:2 pu:2", "1-7", 3);
  static const int pu[] = {1, 4, 6};
  static const int numa[] = {0, 1, 1};
  static const int core[] = {0, 2, 3};
  expect_plan(&p, N(pu), pu, numa, core);
  sharc_plan_free(&p);
}

/* ---- errors ------------------------------------------------------------ */

static int plan_over(const char *list, char *msg, size_t msglen) {
  hwloc_topology_t topo;
  hwloc_bitmap_t all;
  cr_assert_eq(sharc__topo_load(PACK2, &topo, &all, NULL, 0), 0);
  hwloc_bitmap_t usable = hwloc_bitmap_alloc();
  cr_assert_eq(hwloc_bitmap_list_sscanf(usable, list), 0);
  sharc_plan p = SHARC_PLAN_INIT;
  int rc = sharc__plan_from_topology(topo, usable, 4, &p, msg, msglen);
  cr_expect_null(p.w);
  cr_expect_eq(p.nworkers, 0);
  hwloc_bitmap_free(usable);
  hwloc_bitmap_free(all);
  hwloc_topology_destroy(topo);
  return rc;
}

Test(plan_errors, empty_usable_set_is_einval) {
  char msg[256] = "";
  cr_expect_eq(plan_over("", msg, sizeof msg), SHARC_EINVAL);
  cr_expect_neq(msg[0], '\0');
}

Test(plan_errors, usable_bits_outside_the_topology_do_not_count) {
  cr_expect_eq(plan_over("32-63", NULL, 0), SHARC_EINVAL);
}

Test(plan_errors, bad_synthetic_string_is_einval_with_message) {
  sharc_plan p = SHARC_PLAN_INIT;
  char msg[256] = "";
  int rc = sharc_plan_make("pack:2 bogus:3", 4, &p, msg, sizeof msg);
  cr_expect_eq(rc, SHARC_EINVAL);
  cr_expect_not_null(strstr(msg, "pack:2 bogus:3"), "message: %s", msg);
  cr_expect_null(p.w);
}

Test(plan_errors, absurd_worker_count_is_erange) {
  sharc_plan p = SHARC_PLAN_INIT;
  cr_expect_eq(sharc_plan_make(PACK2, 4000000000u, &p, NULL, 0), SHARC_ERANGE);
  cr_expect_null(p.w);
}

Test(plan_errors, free_of_null_is_a_no_op_and_free_zeroes) {
  sharc_plan_free(NULL);
  sharc_plan p = make(PACK2, 4);
  sharc_plan_free(&p);
  cr_expect_null(p.w);
  cr_expect_eq(p.nworkers, 0);
  cr_expect_eq(p.npus, 0);
  /* A freed plan can be filled again. */
  cr_assert_eq(sharc_plan_make(PACK2, 2, &p, NULL, 0), 0);
  cr_expect_eq(p.nworkers, 2);
  sharc_plan_free(&p);
}

Test(plan_errors, a_plan_of_another_size_is_refused_naming_both_sizes) {
  sharc_plan p = SHARC_PLAN_INIT;
  p.size = sizeof p - 8; /* as a program built against older headers */
  char msg[256] = "";
  cr_expect_eq(sharc_plan_make(PACK2, 4, &p, msg, sizeof msg), SHARC_EINVAL);
  char sizes[64];
  snprintf(sizes, sizeof sizes, "size field %zu", sizeof p - 8);
  cr_expect_not_null(strstr(msg, sizes), "message: %s", msg);
  cr_expect_not_null(strstr(msg, "SHARC_PLAN_INIT"), "message: %s", msg);
  cr_expect_null(p.w);
}

/* ---- this machine ------------------------------------------------------ */

Test(plan_machine, zero_workers_is_one_per_cpu_in_affinity) {
  cpu_set_t set;
  CPU_ZERO(&set);
  cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
  sharc_plan p = make(NULL, 0);
  cr_expect_eq(p.npus, (unsigned)CPU_COUNT(&set));
  cr_expect_eq(p.nworkers, p.npus);
  cr_expect_eq(p.oversubscribed, 0);
  cr_expect_geq(p.nnodes, 1);
  for (unsigned i = 0; i < p.nworkers; i++)
    cr_expect(CPU_ISSET(p.w[i].pu, &set), "worker %u on PU %d outside affinity",
              i, p.w[i].pu);
  sharc_plan_free(&p);
}

/* ---- printing ---------------------------------------------------------- */

/* True when token occurs in s followed by something other than a digit, so
 * "PU P#1" is not satisfied by "PU P#12". */
static int mentions(const char *s, const char *token) {
  size_t n = strlen(token);
  for (const char *at = strstr(s, token); at != NULL;
       at = strstr(at + 1, token))
    if (at[n] < '0' || at[n] > '9')
      return 1;
  return 0;
}

static char *print_to_string(const char *synthetic) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  cr_assert_eq(sharc_topo_print(f, synthetic), 0);
  cr_assert_eq(fclose(f), 0);
  return buf;
}

Test(topo_print, synthetic_tree_mentions_every_numa_node_and_pu) {
  char *text = print_to_string(PACK2);
  char token[32];
  for (int i = 0; i < 4; i++) {
    snprintf(token, sizeof token, "NUMA node P#%d", i);
    cr_expect(mentions(text, token), "no \"%s\" in:\n%s", token, text);
  }
  for (int i = 0; i < 32; i++) {
    snprintf(token, sizeof token, "PU P#%d", i);
    cr_expect(mentions(text, token), "no \"%s\" in:\n%s", token, text);
  }
  cr_expect(mentions(text, "Package L#1"), "%s", text);
  /* Usability marks are about this process, meaningless for synthetic. */
  cr_expect_null(strchr(text, '*'), "%s", text);
  free(text);
}

Test(topo_print, caches_and_smt_siblings_share_a_core_line) {
  char *text = print_to_string("pack:1 l3:1 l2:2 core:1 pu:2");
  cr_expect_not_null(strstr(text, "L3 "), "%s", text);
  cr_expect_not_null(strstr(text, "L2 "), "%s", text);
  cr_expect_not_null(strstr(text, "Core L#1: PU P#2 PU P#3\n"), "%s", text);
  free(text);
}

Test(topo_print, this_machine_marks_usable_pus) {
  char *text = print_to_string(NULL);
  sharc_plan p = make(NULL, 0);
  char token[32];
  cr_expect_not_null(strstr(text, "this process may use PUs"), "%s", text);
  for (unsigned i = 0; i < p.nworkers; i++) {
    snprintf(token, sizeof token, "PU P#%d*", p.w[i].pu);
    cr_expect_not_null(strstr(text, token), "no \"%s\" in:\n%s", token, text);
  }
  sharc_plan_free(&p);
  free(text);
}

Test(topo_print, bad_synthetic_string_is_einval) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  cr_expect_eq(sharc_topo_print(f, "core:x"), SHARC_EINVAL);
  fclose(f);
  free(buf);
}
