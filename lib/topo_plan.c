/* Worker placement plans over an hwloc topology, and a printout of the
 * topology for people. The policy is stated in include/sharc/topo.h; the
 * plan is a pure function of (topology, usable PUs, worker count) so the
 * tests can check it exactly on synthetic topologies. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <hwloc.h>

#include "sharc/error.h"
#include "sharc/topo.h"
#include "topo_plan.h"

/* A plan has one entry per worker; a count in the millions is a typo, and
 * refusing it beats trying to allocate and fill gigabytes. */
#define SHARC__PLAN_MAX_WORKERS (1u << 20)

/* One usable PU with the keys of the compact order within its node. */
typedef struct pu_slot {
  unsigned rank;    /* usable PUs of the same core before this one */
  unsigned logical; /* PU logical index: a core's PUs are contiguous in it */
  int os;
  int core;
  int l3; /* logical index of the L3 cache above it, or -1 */
} pu_slot;

/* The usable PUs of one NUMA node, in compact order once sorted. */
typedef struct node_pus {
  int numa;     /* OS index, -1 for PUs outside every node */
  unsigned n;   /* usable PUs */
  pu_slot *pus; /* slice of the one slot array shared by all nodes */
  unsigned share;
  unsigned long long rem; /* remainder of the proportional quota */
} node_pus;

#if defined(__GNUC__)
#define SHARC__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SHARC__PRINTF(f, a)
#endif

/* Writes the message (when the caller wants one) and returns code. */
static int fail(char *msg, size_t msglen, int code, const char *fmt, ...)
    SHARC__PRINTF(4, 5);

static int fail(char *msg, size_t msglen, int code, const char *fmt, ...) {
  if (msg != NULL && msglen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* hwloc reports failures through errno; guard against it being left 0 so a
 * failure never turns into success. */
static int neg_errno(void) { return errno > 0 ? -errno : SHARC_EINVAL; }

/* ---- planning ---------------------------------------------------------- */

static int slot_cmp(const void *a, const void *b) {
  const pu_slot *x = a, *y = b;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  if (x->logical != y->logical)
    return x->logical < y->logical ? -1 : 1;
  return 0;
}

/* Writes the PUs of set into slots in compact order and returns how many.
 * Sorting by (rank within core, logical index) gives "first PU of every
 * core, then second PU of every core, ..." with cores in logical order,
 * because a core's PUs are contiguous in logical order. */
static unsigned fill_node(hwloc_topology_t topo, hwloc_const_cpuset_t set,
                          pu_slot *slots) {
  unsigned n = 0;
  hwloc_obj_t prev_core = NULL;
  hwloc_obj_t pu = NULL;
  while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, set, HWLOC_OBJ_PU,
                                                        pu)) != NULL) {
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu);
    pu_slot *s = &slots[n];
    s->rank = (core != NULL && core == prev_core) ? slots[n - 1].rank + 1 : 0;
    s->logical = pu->logical_index;
    s->os = (int)pu->os_index;
    s->core = core != NULL ? (int)core->logical_index : -1;
    hwloc_obj_t l3 =
        hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_L3CACHE, pu);
    s->l3 = l3 != NULL ? (int)l3->logical_index : -1;
    prev_core = core;
    n++;
  }
  qsort(slots, n, sizeof *slots, slot_cmp);
  return n;
}

/* Groups the PUs of `remaining` by NUMA node (first node in logical order
 * whose cpuset holds the PU, so nodes sharing cores, as with HBM next to
 * DRAM, never count a PU twice). Nodes with no usable PU are left out; PUs
 * outside every node form a last group with numa -1. Consumes remaining.
 * Returns the number of groups, or a negative code. */
static int group_by_node(hwloc_topology_t topo, hwloc_bitmap_t remaining,
                         pu_slot *slots, node_pus *nodes) {
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (set == NULL)
    return SHARC_ENOMEM;
  int nn = 0;
  unsigned used = 0;
  hwloc_obj_t node = NULL;
  while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node)) !=
         NULL) {
    if (node->cpuset == NULL)
      continue;
    if (hwloc_bitmap_and(set, node->cpuset, remaining) < 0 ||
        hwloc_bitmap_andnot(remaining, remaining, set) < 0) {
      hwloc_bitmap_free(set);
      return SHARC_ENOMEM;
    }
    unsigned n = fill_node(topo, set, slots + used);
    if (n == 0)
      continue;
    nodes[nn++] =
        (node_pus){.numa = (int)node->os_index, .n = n, .pus = slots + used};
    used += n;
  }
  unsigned n = fill_node(topo, remaining, slots + used);
  if (n > 0)
    nodes[nn++] = (node_pus){.numa = -1, .n = n, .pus = slots + used};
  hwloc_bitmap_free(set);
  return nn;
}

/* Splits n workers (n <= npus) over the nodes in proportion to their PU
 * counts by largest remainder. A node's share never exceeds its PUs: the
 * floor is at most n*c/npus <= c, and a node only gains one when its quota
 * had a fraction, i.e. floor < c. */
static void assign_shares(node_pus *nodes, unsigned nnodes, unsigned n,
                          unsigned npus) {
  unsigned given = 0;
  for (unsigned i = 0; i < nnodes; i++) {
    unsigned long long q = (unsigned long long)n * nodes[i].n;
    nodes[i].share = (unsigned)(q / npus);
    nodes[i].rem = q % npus;
    given += nodes[i].share;
  }
  /* Strict '>' keeps ties on the lower node index. */
  for (; given < n; given++) {
    unsigned best = 0;
    for (unsigned i = 1; i < nnodes; i++)
      if (nodes[i].rem > nodes[best].rem)
        best = i;
    nodes[best].share++;
    nodes[best].rem = 0;
  }
}

/* Fills w[0..n) from the nodes' shares, then wraps: worker k >= n takes
 * worker (k mod n)'s place (only when workers > npus, so n == npus). */
static void fill_plan(const node_pus *nodes, unsigned nnodes, unsigned n,
                      sharc_placement *w, unsigned nworkers) {
  unsigned k = 0;
  for (unsigned i = 0; i < nnodes; i++) {
    for (unsigned j = 0; j < nodes[i].share; j++, k++) {
      const pu_slot *s = &nodes[i].pus[j];
      w[k] = (sharc_placement){
          .worker = k, .pu = s->os, .core = s->core, .numa = nodes[i].numa,
          .l3 = s->l3};
    }
  }
  for (; k < nworkers; k++) {
    w[k] = w[k % n];
    w[k].worker = k;
  }
}

/* Allocates the per-call arrays: one slot per usable PU, one group per NUMA
 * node plus one for PUs outside every node. */
static int alloc_scratch(hwloc_topology_t topo, unsigned npus, pu_slot **slots,
                         node_pus **nodes) {
  int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  *slots = calloc(npus, sizeof **slots);
  *nodes = calloc((size_t)(nnuma > 0 ? nnuma : 0) + 1, sizeof **nodes);
  if (*slots == NULL || *nodes == NULL) {
    free(*slots);
    free(*nodes);
    return SHARC_ENOMEM;
  }
  return 0;
}

/* Does the work of sharc__plan_from_topology once remaining (the usable
 * PUs of topo, npus of them) is known. */
static int plan_pus(hwloc_topology_t topo, hwloc_bitmap_t remaining,
                    unsigned npus, unsigned workers, sharc_plan *out) {
  pu_slot *slots;
  node_pus *nodes;
  int rc = alloc_scratch(topo, npus, &slots, &nodes);
  if (rc < 0)
    return rc;
  int nnodes = group_by_node(topo, remaining, slots, nodes);
  unsigned nworkers = workers == 0 ? npus : workers;
  unsigned n = nworkers < npus ? nworkers : npus;
  sharc_placement *w = NULL;
  if (nnodes < 0)
    rc = nnodes;
  else if ((w = calloc(nworkers, sizeof *w)) == NULL)
    rc = SHARC_ENOMEM;
  if (rc == 0) {
    assign_shares(nodes, (unsigned)nnodes, n, npus);
    fill_plan(nodes, (unsigned)nnodes, n, w, nworkers);
    *out = (sharc_plan){.size = sizeof *out,
                        .nworkers = nworkers,
                        .npus = npus,
                        .nnodes = (unsigned)nnodes,
                        .oversubscribed = nworkers > npus,
                        .w = w};
  }
  free(slots);
  free(nodes);
  return rc;
}

int sharc__plan_from_topology(hwloc_topology_t topo,
                              hwloc_const_cpuset_t usable, unsigned workers,
                              sharc_plan *out, char *msg, size_t msglen) {
  if (out != NULL)
    *out = (sharc_plan){.size = sizeof *out};
  if (topo == NULL || usable == NULL || out == NULL)
    return fail(msg, msglen, SHARC_EINVAL, "no topology, PU set or plan");
  if (workers > SHARC__PLAN_MAX_WORKERS)
    return fail(msg, msglen, SHARC_ERANGE, "%u workers: at most %u allowed",
                workers, SHARC__PLAN_MAX_WORKERS);
  hwloc_bitmap_t remaining = hwloc_bitmap_alloc();
  if (remaining == NULL)
    return fail(msg, msglen, SHARC_ENOMEM, "out of memory");
  /* The topology cpuset holds exactly its PUs: bits of usable beyond them
   * (offline or disallowed CPUs) do not count. */
  int rc = hwloc_bitmap_and(remaining, usable,
                            hwloc_topology_get_topology_cpuset(topo));
  int npus = rc < 0 ? -1 : hwloc_bitmap_weight(remaining);
  if (npus < 0)
    rc = fail(msg, msglen, SHARC_ENOMEM, "out of memory");
  else if (npus == 0)
    rc = fail(msg, msglen, SHARC_EINVAL, "no usable PU in the topology");
  else if ((rc = plan_pus(topo, remaining, (unsigned)npus, workers, out)) < 0)
    fail(msg, msglen, rc, "planning %u workers: %s", workers,
         sharc_strerror(rc));
  hwloc_bitmap_free(remaining);
  return rc;
}

/* ---- loading ----------------------------------------------------------- */

/* This machine's usable PUs: the process binding within the allowed set.
 * When hwloc was pointed elsewhere (HWLOC_XMLFILE, HWLOC_SYNTHETIC) the
 * binding says nothing about that topology, so every allowed PU counts. */
static int machine_usable(hwloc_topology_t topo, hwloc_bitmap_t set, char *msg,
                          size_t msglen) {
  hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(topo);
  if (!hwloc_topology_is_thissystem(topo))
    return hwloc_bitmap_copy(set, allowed) < 0
               ? fail(msg, msglen, SHARC_ENOMEM, "out of memory")
               : 0;
  if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) < 0) {
    int rc = neg_errno();
    return fail(msg, msglen, rc, "reading the process CPU binding: %s",
                sharc_strerror(rc));
  }
  return hwloc_bitmap_and(set, set, allowed) < 0
             ? fail(msg, msglen, SHARC_ENOMEM, "out of memory")
             : 0;
}

/* Initialises and loads the topology; on failure nothing is left to free. */
static int load_topology(const char *synthetic, hwloc_topology_t *topo,
                         char *msg, size_t msglen) {
  if (hwloc_topology_init(topo) < 0) {
    *topo = NULL;
    int rc = neg_errno();
    return fail(msg, msglen, rc, "hwloc init: %s", sharc_strerror(rc));
  }
  if (synthetic != NULL && hwloc_topology_set_synthetic(*topo, synthetic) < 0) {
    hwloc_topology_destroy(*topo);
    *topo = NULL;
    return fail(msg, msglen, SHARC_EINVAL, "invalid synthetic topology \"%s\"",
                synthetic);
  }
  if (hwloc_topology_load(*topo) < 0) {
    int rc = neg_errno();
    hwloc_topology_destroy(*topo);
    *topo = NULL;
    return fail(msg, msglen, rc, "loading the topology: %s",
                sharc_strerror(rc));
  }
  return 0;
}

int sharc__topo_load(const char *synthetic, hwloc_topology_t *topo,
                     hwloc_bitmap_t *usable, char *msg, size_t msglen) {
  *topo = NULL;
  *usable = NULL;
  hwloc_topology_t t;
  int rc = load_topology(synthetic, &t, msg, msglen);
  if (rc < 0)
    return rc;
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (set == NULL)
    rc = fail(msg, msglen, SHARC_ENOMEM, "out of memory");
  else if (synthetic != NULL)
    rc = hwloc_bitmap_copy(set, hwloc_topology_get_topology_cpuset(t)) < 0
             ? fail(msg, msglen, SHARC_ENOMEM, "out of memory")
             : 0;
  else
    rc = machine_usable(t, set, msg, msglen);
  if (rc < 0) {
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(t);
    return rc;
  }
  *topo = t;
  *usable = set;
  return 0;
}

/* ---- public ------------------------------------------------------------ */

int sharc_plan_make(const char *synthetic, unsigned workers, sharc_plan *out,
                    char *msg, size_t msglen) {
  if (out == NULL)
    return fail(msg, msglen, SHARC_EINVAL, "no plan to fill");
  if (out->size != sizeof *out)
    return fail(msg, msglen, SHARC_EINVAL,
                "plan: size field %zu, but this library's sharc_plan is %zu "
                "bytes (make it with SHARC_PLAN_INIT)",
                out->size, sizeof *out);
  *out = (sharc_plan){.size = sizeof *out};
  hwloc_topology_t topo;
  hwloc_bitmap_t usable;
  int rc = sharc__topo_load(synthetic, &topo, &usable, msg, msglen);
  if (rc < 0)
    return rc;
  rc = sharc__plan_from_topology(topo, usable, workers, out, msg, msglen);
  hwloc_bitmap_free(usable);
  hwloc_topology_destroy(topo);
  return rc;
}

void sharc_plan_free(sharc_plan *plan) {
  if (plan == NULL)
    return;
  free(plan->w);
  *plan = (sharc_plan){.size = sizeof *plan};
}

/* ---- printing ---------------------------------------------------------- */

typedef struct printer {
  FILE *out;
  hwloc_topology_t topo;
  hwloc_const_cpuset_t usable;
  int mark; /* star usable PUs: only meaningful for this machine */
  int open; /* a line is open and the next object continues it ("+") */
} printer;

/* Sizes the way lstopo shows them: KB below 10 MB, MB below 10 GB. */
static void print_size(FILE *out, unsigned long long bytes) {
  if (bytes < 10ull << 20)
    fprintf(out, "%llu KB", bytes >> 10);
  else if (bytes < 10ull << 30)
    fprintf(out, "%llu MB", bytes >> 20);
  else
    fprintf(out, "%llu GB", bytes >> 30);
}

/* Starts an object's text: on the open line after " + " (a chain of single
 * children, as lstopo prints "L2 + Core"), else on a new indented line. */
static void line_start(printer *p, int depth) {
  if (p->open) {
    fputs(" + ", p->out);
    p->open = 0;
    return;
  }
  fprintf(p->out, "%*s", 2 * depth, "");
}

static void line_end(printer *p) {
  if (p->open)
    fputc('\n', p->out);
  p->open = 0;
}

static void print_pu(printer *p, hwloc_obj_t pu) {
  int usable = hwloc_bitmap_isset(p->usable, pu->os_index);
  fprintf(p->out, "PU P#%u%s", pu->os_index, p->mark && usable ? "*" : "");
}

/* A core and all its PUs on one line: the tree stays one line per core. */
static void print_core(printer *p, hwloc_obj_t core, int depth) {
  line_start(p, depth);
  fprintf(p->out, "Core L#%u:", core->logical_index);
  hwloc_obj_t pu = NULL;
  while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(
              p->topo, core->cpuset, HWLOC_OBJ_PU, pu)) != NULL) {
    fputc(' ', p->out);
    print_pu(p, pu);
  }
  fputc('\n', p->out);
}

/* NUMA nodes hang off memory children, possibly below memory-side caches. */
static void print_memory(printer *p, hwloc_obj_t obj, int depth) {
  for (hwloc_obj_t m = obj->memory_first_child; m != NULL;
       m = m->next_sibling) {
    if (m->type != HWLOC_OBJ_NUMANODE) {
      print_memory(p, m, depth);
      continue;
    }
    line_start(p, depth);
    fprintf(p->out, "NUMA node P#%u: ", m->os_index);
    print_size(p->out, m->attr->numanode.local_memory);
    fputc('\n', p->out);
  }
}

/* Prints the label of the kinds of object the tree shows and returns 1, or
 * returns 0 for the rest (groups, dies, L1 caches), which pass through. */
static int print_label(printer *p, hwloc_obj_t obj, int depth) {
  switch (obj->type) {
  case HWLOC_OBJ_PACKAGE:
    line_start(p, depth);
    fprintf(p->out, "Package L#%u", obj->logical_index);
    return 1;
  case HWLOC_OBJ_L3CACHE:
  case HWLOC_OBJ_L2CACHE:
    line_start(p, depth);
    fprintf(p->out, "L%u ", obj->attr->cache.depth);
    print_size(p->out, obj->attr->cache.size);
    return 1;
  default:
    return 0;
  }
}

static void print_obj(printer *p, hwloc_obj_t obj, int depth) {
  if (obj->type == HWLOC_OBJ_CORE) {
    print_core(p, obj, depth);
    return;
  }
  if (obj->type == HWLOC_OBJ_PU) { /* a PU with no core above it */
    line_start(p, depth);
    print_pu(p, obj);
    fputc('\n', p->out);
    return;
  }
  int shown = print_label(p, obj, depth);
  if (shown) {
    p->open = 1;
    depth++;
  }
  /* Only a lone child with no memory beside it may continue the line. */
  if (obj->memory_arity > 0 || obj->arity != 1)
    line_end(p);
  print_memory(p, obj, depth);
  /* A hidden object holding memory (a group or die per NUMA node) is that
   * node's locality: indent its contents under the node line. */
  if (!shown && obj->memory_arity > 0)
    depth++;
  for (hwloc_obj_t c = obj->first_child; c != NULL; c = c->next_sibling)
    print_obj(p, c, depth);
  line_end(p);
}

static const char *plural(int n) { return n == 1 ? "" : "s"; }

static void print_header(printer *p, const char *synthetic) {
  hwloc_topology_t t = p->topo;
  int npack = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
  int nnuma = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  int ncore = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
  int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  if (synthetic != NULL)
    fprintf(p->out, "Machine (synthetic \"%s\"): ", synthetic);
  else
    fputs("Machine: ", p->out);
  print_size(p->out, hwloc_get_root_obj(t)->total_memory);
  fprintf(p->out, " total, %d package%s, %d NUMA node%s, %d core%s, %d PU%s",
          npack, plural(npack), nnuma, plural(nnuma), ncore, plural(ncore), npu,
          plural(npu));
  char *list = NULL;
  if (p->mark && hwloc_bitmap_list_asprintf(&list, p->usable) >= 0)
    fprintf(p->out, "; this process may use PUs %s (marked *)", list);
  free(list);
  fputc('\n', p->out);
}

int sharc_topo_print(FILE *out, const char *synthetic) {
  if (out == NULL)
    return SHARC_EINVAL;
  hwloc_topology_t topo;
  hwloc_bitmap_t usable;
  int rc = sharc__topo_load(synthetic, &topo, &usable, NULL, 0);
  if (rc < 0)
    return rc;
  printer p = {.out = out,
               .topo = topo,
               .usable = usable,
               .mark = synthetic == NULL,
               .open = 0};
  hwloc_obj_t root = hwloc_get_root_obj(topo);
  print_header(&p, synthetic);
  print_memory(&p, root, 1);
  for (hwloc_obj_t c = root->first_child; c != NULL; c = c->next_sibling)
    print_obj(&p, c, 1);
  hwloc_bitmap_free(usable);
  hwloc_topology_destroy(topo);
  return ferror(out) ? -EIO : 0;
}
