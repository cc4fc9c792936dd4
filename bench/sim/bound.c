/* bench_bound: how close to bench_sim's ideal any schedule can come on the
 * synthetic costs, with no claim costs at all. Pure logic, deterministic.
 *
 * bench_sim divides every makespan by ideal = max(total / W, the longest
 * index). That bound knows every cost in advance. A schedule does not: it
 * finds an index's cost only by running it, and an index, once started,
 * runs to its end on one worker. With costs drawn independently per index
 * (exponential, pareto), which index a schedule starts next tells it
 * nothing about that index's cost, so whatever the schedule, the costs in
 * the order it starts them are as random as the draws themselves: its
 * start order is, in effect, a random permutation of the costs. For such
 * an order pi, index k (the r-th started) cannot start before the indices
 * started ahead of it are done, but for at most W - 1 still running on the
 * other workers:
 *
 *   start(k) >= (sum of the r - 1 costs before it
 *                - the W - 1 largest of them) / W
 *
 * so makespan >= lb(pi) = max(total / W, max_k start(k) + cost(k)). The
 * mean of lb(pi) / ideal over random orders estimates the least mean ratio
 * any schedule that does not know the costs can reach (over seeds: the
 * draws are what make the order random; one seed on its own may favour one
 * schedule by luck). Printed per seed and worker count:
 *
 *   ideal      bench_sim's bound, in ms (total / W, longest index)
 *   lpt        an offline schedule that knows every cost (longest
 *              processing time first, each index to the least loaded
 *              worker), / ideal: how tight ideal is for a clairvoyant one
 *   lb         mean over --orders random orders (0: none, nan) of lb(pi) / ideal
 *   greedy     mean over the same orders of list scheduling (each index, in
 *              order, to the first free worker, for free) / ideal: what an
 *              online schedule with free one-index claims reaches
 *   <=1.10     the fraction of those orders where greedy is within 1.10
 *   index      list scheduling in index order (dynamic,1 with free claims)
 *   owner      the 8 longest indices: max over them of when the owner of
 *              each, running its static block front to back for free,
 *              reaches it, plus its cost, / ideal. Where auto ends at this
 *              figure, the index that ends last was one of them, reached by
 *              its owner in order (no thief took it earlier)
 *   heavy      the longest index: where it lies in its owner's static
 *              block (auto's initial range), and when the owner, running
 *              its block front to back, reaches it, / ideal; "+cost" adds
 *              its cost (its end if nobody took it earlier); idle: when
 *              the first worker has run its whole block, / ideal (no
 *              steal happens before)
 *
 * usage: bench_bound [--workers LIST] [--seeds A-B|LIST] [--orders R]
 *                    [--dist NAME] [--n N] [--work ITERS] [--alpha A] */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "synthetic.h"

#define MAX_LIST 1024

static void die(const char *msg, const char *arg) {
  fprintf(stderr, "bench_bound: %s%s\n", msg, arg ? arg : "");
  exit(2);
}

static void *xmalloc(size_t count, size_t size) {
  void *p = malloc((count ? count : 1) * size);
  if (p == NULL)
    die("out of memory", NULL);
  return p;
}

/* "1-12" or "1,5,42" or a mix. */
static unsigned parse_list(const char *text, uint64_t *out) {
  char buf[512], *save = NULL;
  snprintf(buf, sizeof buf, "%s", text);
  unsigned count = 0;
  for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    char *end;
    errno = 0;
    uint64_t a = strtoull(w, &end, 10), b = a;
    if (*end == '-')
      b = strtoull(end + 1, &end, 10);
    if (errno || *end != '\0' || b < a)
      die("not a list of numbers or ranges: ", text);
    for (uint64_t v = a; v <= b; v++) {
      if (count == MAX_LIST)
        die("too many entries: ", text);
      out[count++] = v;
    }
  }
  if (count == 0)
    die("an empty list", NULL);
  return count;
}

/* --- a binary min-heap of doubles ---------------------------------------- */

static void heap_down(double *h, size_t len, size_t i) {
  double x = h[i];
  for (;;) {
    size_t l = 2 * i + 1, m = l;
    if (l >= len)
      break;
    if (l + 1 < len && h[l + 1] < h[l])
      m = l + 1;
    if (!(h[m] < x))
      break;
    h[i] = h[m];
    i = m;
  }
  h[i] = x;
}

static void heap_up(double *h, size_t i) {
  double x = h[i];
  while (i > 0 && x < h[(i - 1) / 2]) {
    h[i] = h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h[i] = x;
}

/* List scheduling of costs in the order given, on W workers from time 0:
 * each to the worker free first. Returns the makespan. */
static double greedy(const double *cost, const uint32_t *order, uint64_t n,
                     unsigned W, double *heap) {
  for (unsigned w = 0; w < W; w++)
    heap[w] = 0;
  double end = 0;
  for (uint64_t r = 0; r < n; r++) {
    double t = heap[0] + cost[order ? order[r] : r];
    end = t > end ? t : end;
    heap[0] = t;
    heap_down(heap, W, 0);
  }
  return end;
}

/* lb(pi) (see the top of the file); heap holds the W - 1 largest so far. */
static double order_bound(const double *cost, const uint32_t *order,
                          uint64_t n, unsigned W, double total, double *heap) {
  double best = total / W, sum = 0, top = 0;
  size_t len = 0;
  for (uint64_t r = 0; r < n; r++) {
    double c = cost[order[r]];
    double start = (sum - top) / W;
    if (start + c > best)
      best = start + c;
    sum += c;
    if (W == 1)
      continue;
    if (len < W - 1) {
      heap[len] = c;
      heap_up(heap, len++);
      top += c;
    } else if (c > heap[0]) {
      top += c - heap[0];
      heap[0] = c;
      heap_down(heap, len, 0);
    }
  }
  return best;
}

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int main(int argc, char **argv) {
  uint64_t workers[MAX_LIST] = {16, 64, 256, 1024}, seeds[MAX_LIST] = {42};
  unsigned nworkers = 4, nseeds = 1, orders = 32, dist = SHARC_SYNTH_PARETO;
  uint64_t n = UINT64_C(1) << 20, work = 1000;
  double alpha = 1.5;
  static const struct option longs[] = {{"workers", 1, NULL, 'w'},
                                        {"seeds", 1, NULL, 's'},
                                        {"orders", 1, NULL, 'o'},
                                        {"dist", 1, NULL, 'd'},
                                        {"n", 1, NULL, 'n'},
                                        {"work", 1, NULL, 'k'},
                                        {"alpha", 1, NULL, 'a'},
                                        {NULL, 0, NULL, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    switch (opt) {
    case 'w':
      nworkers = parse_list(optarg, workers);
      break;
    case 's':
      nseeds = parse_list(optarg, seeds);
      break;
    case 'o':
      orders = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'd':
      for (dist = 0; dist < SHARC_SYNTH_COUNT; dist++)
        if (strcmp(sharc_synthetic_dist_name(dist), optarg) == 0)
          break;
      if (dist == SHARC_SYNTH_COUNT)
        die("no such distribution: ", optarg);
      break;
    case 'n':
      n = strtoull(optarg, NULL, 10);
      break;
    case 'k':
      work = strtoull(optarg, NULL, 10);
      break;
    case 'a':
      alpha = strtod(optarg, NULL);
      break;
    default:
      die("usage: see the comment at the top of bench/sim/bound.c", NULL);
    }
  }
  if (n == 0 || n > UINT32_MAX || !(alpha > 1))
    die("bad --n, --orders or --alpha", NULL);
  for (unsigned i = 0; i < nworkers; i++)
    if (workers[i] == 0 || workers[i] > n)
      die("a worker count must be in [1, n]", NULL);

  double *cost = xmalloc(n, sizeof *cost), *sorted = xmalloc(n, sizeof *cost);
  double *prefix = xmalloc(n + 1, sizeof *prefix);
  uint32_t *order = xmalloc(n, sizeof *order);
  double *heap = xmalloc(n, sizeof *heap);
  double sum_lb[MAX_LIST] = {0}, sum_greedy[MAX_LIST] = {0};
  double max_lb[MAX_LIST] = {0}, sum_lpt[MAX_LIST] = {0};
  double sum_index[MAX_LIST] = {0}, sum_owner[MAX_LIST] = {0};
  printf("%s, n %" PRIu64 ", mean %" PRIu64 " iterations of 1 ns, %u random "
         "orders; ratios are / ideal\n",
         sharc_synthetic_dist_name(dist), n, work, orders);
  printf("%6s %5s %8s %6s %6s %6s %6s %6s %6s | %7s %6s %6s %6s %6s\n",
         "seed", "W", "ideal", "lpt", "lb", "greedy", "<=1.10", "index",
         "owner", "heavy", "at", "reach", "+cost", "idle");
  for (unsigned si = 0; si < nseeds; si++) {
    sharc_synthetic_args a;
    memset(&a, 0, sizeof a);
    a.n = n;
    a.dist = dist;
    a.work = work;
    a.alpha = alpha;
    a.seed = seeds[si];
    a.slow = SHARC_SYNTHETIC_NO_SLOW;
    double total = 0, cmax = 0;
    uint64_t imax = 0;
    prefix[0] = 0;
    for (uint64_t i = 0; i < n; i++) {
      cost[i] = (double)sharc_synthetic_cost(&a, i);
      total += cost[i];
      prefix[i + 1] = total;
      if (cost[i] > cmax) {
        cmax = cost[i];
        imax = i;
      }
    }
    memcpy(sorted, cost, n * sizeof *cost);
    qsort(sorted, n, sizeof *sorted, cmp_desc);
    for (unsigned wi = 0; wi < nworkers; wi++) {
      unsigned W = (unsigned)workers[wi];
      double ideal = total / W > cmax ? total / W : cmax;
      double lpt = greedy(sorted, NULL, n, W, heap) / ideal;
      double index = greedy(cost, NULL, n, W, heap) / ideal;
      double lb = 0, gr = 0;
      unsigned within = 0;
      uint64_t rng = seeds[si] * 1000003u + W;
      for (unsigned r = 0; r < orders; r++) {
        for (uint64_t i = 0; i < n; i++)
          order[i] = (uint32_t)i;
        for (uint64_t i = n - 1; i > 0; i--) {
          uint64_t j = splitmix(&rng) % (i + 1);
          uint32_t t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
        lb += order_bound(cost, order, n, W, total, heap) / ideal;
        double g = greedy(cost, order, n, W, heap) / ideal;
        gr += g;
        within += g <= 1.10;
      }
      lb = orders ? lb / orders : NAN; /* --orders 0: not computed */
      gr = orders ? gr / orders : NAN;
      /* the longest index in auto's initial ranges */
      uint64_t lo = 0, hi = 0;
      for (unsigned w = 0; w < W; w++) {
        sharc__split(n, w, W, &lo, &hi);
        if (imax < hi)
          break;
      }
      double idle = INFINITY, owner_end = 0;
      for (unsigned w = 0; w < W; w++) {
        uint64_t l, h;
        sharc__split(n, w, W, &l, &h);
        double b = prefix[h] - prefix[l];
        idle = b < idle ? b : idle;
        for (uint64_t i = l; i < h; i++) {
          double end = prefix[i + 1] - prefix[l];
          if (cost[i] >= sorted[n > 8 ? 7 : n - 1] && end > owner_end)
            owner_end = end;
        }
      }
      double reach = prefix[imax] - prefix[lo];
      printf("%6" PRIu64 " %5u %8.3f %6.3f %6.3f %6.3f %6.2f %6.3f %6.3f | "
             "%5.2fms %5.0f%% %6.3f %6.3f %6.3f\n",
             seeds[si], W, ideal / 1e6, lpt, lb, gr,
             orders ? (double)within / orders : NAN,
             index, owner_end / ideal, cmax / 1e6, 100.0 * (double)(imax - lo) / (double)(hi - lo),
             reach / ideal, (reach + cmax) / ideal, idle / ideal);
      sum_lb[wi] += lb;
      sum_greedy[wi] += gr;
      sum_lpt[wi] += lpt;
      sum_index[wi] += index;
      sum_owner[wi] += owner_end / ideal > 1 ? owner_end / ideal : 1;
      max_lb[wi] = lb > max_lb[wi] ? lb : max_lb[wi];
      fflush(stdout);
    }
  }
  printf("\nmean over %u seeds:\n", nseeds);
  for (unsigned wi = 0; wi < nworkers; wi++)
    printf("  W = %-5" PRIu64 " lpt %.3f  lb %.3f (worst seed %.3f)  greedy "
           "%.3f  index %.3f  owner (at least 1) %.3f\n",
           workers[wi], sum_lpt[wi] / nseeds, sum_lb[wi] / nseeds, max_lb[wi],
           sum_greedy[wi] / nseeds, sum_index[wi] / nseeds,
           sum_owner[wi] / nseeds);
  free(cost);
  free(sorted);
  free(prefix);
  free(order);
  free(heap);
  return 0;
}
