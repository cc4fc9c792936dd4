/* Schedules: the claim logic driven directly (many simulated workers in one
 * process, any interleaving), steal order on synthetic topologies, and the
 * same schedules in real pools with a deliberately slow worker. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

#define SIM_MAX 16

/* The shared words of a simulated job, in ordinary memory. */
typedef struct sim {
  sharc__range ranges[SIM_MAX];
  sharc__slot slots[SIM_MAX];
  _Atomic uint64_t next;
  sharc__claim c[SIM_MAX];
} sim;

static sim *sim_new(const char *sched, uint64_t n, unsigned nw,
                    const sharc_placement *place) {
  sim *s = aligned_alloc(SHARC__PAD, sizeof(sim));
  cr_assert_not_null(s);
  memset(s, 0, sizeof *s);
  sharc_schedule sc;
  cr_assert_eq(sharc_schedule_parse(sched, &sc), 0, "%s", sched);
  sharc__sched_post(sc.kind, s->ranges, s->slots, nw, n);
  sharc__claim_ctx ctx = {
      .next = &s->next, .ranges = s->ranges, .slots = s->slots, .place = place};
  for (unsigned w = 0; w < nw; w++)
    sharc__claim_init(&s->c[w], sc.kind, n, sc.chunk, w, nw, &ctx);
  return s;
}

/* Runs a simulated job: in each round, worker w claims when round % speed[w]
 * is 0 (speed 1: every round; a slow worker claims less often), and reports
 * a cost of cost_ns per index to the schedules that adapt. Marks every index
 * claimed; returns the number of claims. */
static uint64_t sim_run(sim *s, unsigned nw, const unsigned *speed,
                        unsigned char *seen, uint64_t n, double cost_ns) {
  unsigned char done[SIM_MAX] = {0};
  unsigned live = nw;
  uint64_t claims = 0;
  for (uint64_t round = 0; live > 0; round++) {
    cr_assert_lt(round, 100 * n + 1000, "the job does not end");
    for (unsigned w = 0; w < nw; w++) {
      if (done[w] || round % speed[w] != 0)
        continue;
      uint64_t b, e;
      if (!sharc__claim_next(&s->c[w], &b, &e)) {
        done[w] = 1;
        live--;
        continue;
      }
      claims++;
      cr_assert_lt(b, e, "empty chunk [%llu, %llu)", (unsigned long long)b,
                   (unsigned long long)e);
      cr_assert_leq(e, n, "chunk end %llu beyond n %llu", (unsigned long long)e,
                    (unsigned long long)n);
      for (uint64_t i = b; i < e; i++)
        seen[i]++;
      if (sharc__claim_adapts(&s->c[w]))
        sharc__claim_done(&s->c[w],
                          (uint64_t)(cost_ns * speed[w] * (double)(e - b)));
    }
  }
  return claims;
}

static const char *all_scheds[] = {"static", "static:3", "dynamic", "dynamic:7",
                                   "guided", "guided:4", "auto",    "auto:5",
                                   "fac2",   "fac2:3",   "wf",      "wf:2"};
#define NSCHEDS (sizeof all_scheds / sizeof all_scheds[0])

Test(schedule, every_index_is_claimed_exactly_once_in_any_interleaving) {
  const uint64_t ns[] = {0, 1, 7, 1000, 100003};
  unsigned char *seen = malloc(100003);
  for (size_t k = 0; k < NSCHEDS; k++) {
    for (unsigned nw = 1; nw <= 8; nw++) {
      for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) {
        for (int slow = 0; slow < 2; slow++) {
          unsigned speed[SIM_MAX];
          for (unsigned w = 0; w < nw; w++)
            speed[w] = 1;
          if (slow)
            speed[0] = 5; /* worker 0 runs at a fifth of the speed */
          uint64_t n = ns[j];
          memset(seen, 0, n);
          sim *s = sim_new(all_scheds[k], n, nw, NULL);
          sim_run(s, nw, speed, seen, n, 50.0);
          for (uint64_t i = 0; i < n; i++)
            cr_assert_eq(seen[i], 1,
                         "%s W=%u n=%llu slow=%d: index %llu "
                         "claimed %d times",
                         all_scheds[k], nw, (unsigned long long)n, slow,
                         (unsigned long long)i, seen[i]);
          free(s);
        }
      }
    }
  }
  free(seen);
}

/* Factoring as Hummel, Schonberg and Flynn define it: batch j gives every
 * worker one chunk of ceil(R_j / 2W), R_j what was left when it began. */
Test(schedule, fac2_chunks_follow_the_batches) {
  sim *s = sim_new("fac2", 1000, 2, NULL);
  const uint64_t want[][2] = {
      {0, 250},   {250, 500}, {500, 625}, {625, 750}, {750, 813}, {813, 876},
      {876, 907}, {907, 938}, {938, 954}, {954, 970}, {970, 978}, {978, 986},
      {986, 990}, {990, 994}, {994, 996}, {996, 998}, {998, 999}, {999, 1000}};
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    uint64_t b, e;
    cr_assert(sharc__claim_next(&s->c[k % 2], &b, &e), "chunk %zu", k);
    cr_assert(b == want[k][0] && e == want[k][1],
              "chunk %zu is [%llu, %llu), expected [%llu, %llu)", k,
              (unsigned long long)b, (unsigned long long)e,
              (unsigned long long)want[k][0], (unsigned long long)want[k][1]);
  }
  uint64_t b, e;
  cr_assert_not(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_not(sharc__claim_next(&s->c[1], &b, &e));
  free(s);
}

/* auto sizes chunks from the measured cost: starting at one index, doubling
 * while the chunks are shorter than the target, then holding the size that
 * lasts SHARC_AUTO_TARGET_NS. */
Test(schedule, auto_chunks_grow_to_the_target_time) {
  uint64_t n = 1000000;
  sim *s = sim_new("auto", n, 1, NULL);
  const double cost = 100.0; /* ns per index: the target is 200 indices */
  const uint64_t want[] = {1, 2, 4, 8, 16, 32, 64, 128, 200, 200, 200};
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    uint64_t b, e;
    cr_assert(sharc__claim_next(&s->c[0], &b, &e));
    cr_assert_eq(e - b, want[k], "chunk %zu has %llu indices, expected %llu", k,
                 (unsigned long long)(e - b), (unsigned long long)want[k]);
    sharc__claim_done(&s->c[0], (uint64_t)(cost * (double)(e - b)));
  }
  /* A chunk that ran ten times longer than expected cuts the next one. */
  uint64_t b, e;
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  sharc__claim_done(&s->c[0], (uint64_t)(10 * cost * (double)(e - b)));
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_lt(e - b, 50, "after a slow chunk the next has %llu indices",
               (unsigned long long)(e - b));
  free(s);
}

/* While chunks grow, every one is timed; once they last the target time,
 * the worker times spans of SHARC__AUTO_SPAN chunks, and a span reported
 * whole sizes the next chunk as its chunks would have one by one. */
Test(schedule, auto_times_spans_once_chunks_reach_the_target) {
  sim *s = sim_new("auto", 1000000, 1, NULL);
  const double cost = 100.0; /* ns per index: the target is 200 indices */
  uint64_t b, e;
  for (int k = 0; k < 7; k++) { /* 1, 2, ..., 64 indices: each doubles */
    cr_assert(sharc__claim_next(&s->c[0], &b, &e));
    sharc__claim_done(&s->c[0], (uint64_t)(cost * (double)(e - b)));
    cr_assert_eq(s->c[0].every, 1, "after chunk %d of %llu indices: timed "
                 "alone", k, (unsigned long long)(e - b));
  }
  /* 128 indices: the next chunk (200) is sized by the target, not by the
   * growth limit, so spans begin */
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_eq(e - b, 128);
  sharc__claim_done(&s->c[0], (uint64_t)(cost * 128));
  cr_assert_eq(s->c[0].every, SHARC__AUTO_SPAN);
  /* A span of chunks that ran at twice the cost: the estimate moves to the
   * mean of 100 and 200 ns, so the next chunk is 20000 / 150 indices. */
  uint64_t units = 0;
  for (unsigned k = 0; k < SHARC__AUTO_SPAN; k++) {
    cr_assert(sharc__claim_next(&s->c[0], &b, &e));
    cr_assert_eq(e - b, 200, "inside a span the size holds");
    units += e - b;
  }
  sharc__claim_span(&s->c[0], (uint64_t)(2 * cost * (double)units), units);
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_eq(e - b, 133, "after the span: %llu indices",
               (unsigned long long)(e - b));
  free(s);
}

/* Whatever the measured cost says, an auto chunk never takes more than
 * half of what its worker has left (one index when one is left): a thief
 * always finds the other half. */
Test(schedule, auto_never_takes_more_than_half_of_what_is_left) {
  uint64_t n = 5000;
  sim *s = sim_new("auto", n, 2, NULL);
  uint64_t left = 2500, b, e;
  while (sharc__claim_next(&s->c[0], &b, &e)) {
    uint64_t got = e - b;
    cr_assert(got <= left / 2 || (left == 1 && got == 1),
              "took %llu of %llu left", (unsigned long long)got,
              (unsigned long long)left);
    cr_assert_eq(b, 2500 - left);
    sharc__claim_done(&s->c[0], 0); /* free: the estimate never limits */
    left -= got;
    if (left == 0)
      break;
  }
  cr_assert_eq(left, 0);
  /* Worker 0 is out of work: it steals the upper half of worker 1's. */
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_eq(s->c[0].victim, 1);
  cr_assert_eq(s->c[0].steals, 1);
  cr_assert_geq(b, 3750);
  cr_assert_leq(e, 5000);
  free(s);
}

/* Steal order on a synthetic machine: two packages (one NUMA node each),
 * two L3 caches per package, two cores per L3. */
static void set_left(sim *s, unsigned w, uint64_t lo, uint64_t left) {
  atomic_store(&s->ranges[w].word, sharc__pack(lo, lo + left));
}

Test(schedule, thieves_prefer_the_same_cache_then_the_same_node) {
  sharc_plan plan = SHARC_PLAN_INIT;
  char msg[256];
  cr_assert_eq(sharc_plan_make("pack:2 numa:1 l3:2 core:2 pu:1", 8, &plan, msg,
                               sizeof msg),
               0, "%s", msg);
  cr_assert_eq(plan.w[1].l3, plan.w[0].l3);
  cr_assert_neq(plan.w[2].l3, plan.w[0].l3);
  cr_assert_eq(plan.w[2].numa, plan.w[0].numa);
  cr_assert_neq(plan.w[4].numa, plan.w[0].numa);
  sim *s = sim_new("auto", 8000, 8, plan.w);
  for (unsigned w = 0; w < 8; w++)
    set_left(s, w, 1000 * w, 0);
  uint64_t word;
  cr_assert_eq(sharc__auto_pick(&s->c[0], &word), -1, "nothing to steal");
  /* Only a remote worker has work: take it. */
  set_left(s, 5, 5000, 10);
  cr_assert_eq(sharc__auto_pick(&s->c[0], &word), 5);
  /* Same node, other cache, beats remote. */
  set_left(s, 2, 2000, 10);
  cr_assert_eq(sharc__auto_pick(&s->c[0], &word), 2);
  /* Same cache beats both, while it holds at least a quarter of the most
   * anyone has... */
  set_left(s, 1, 1000, 3);
  cr_assert_eq(sharc__auto_pick(&s->c[0], &word), 1);
  cr_assert_eq(word, sharc__pack(1000, 1003));
  /* ...but not when that would leave most of the work far away. */
  set_left(s, 6, 6000, 900);
  cr_assert_eq(sharc__auto_pick(&s->c[0], &word), 6);
  set_left(s, 3, 3000, 300);
  cr_assert_eq(sharc__auto_pick(&s->c[0], &word), 3, "same node, 300 >= 900/4");
  /* The steal itself: the upper half, rounded up, of the victim's part. */
  uint64_t b, e;
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_eq(s->c[0].victim, 3);
  cr_assert_eq(atomic_load(&s->ranges[3].word), sharc__pack(3000, 3150));
  cr_assert_eq(b, 3150);
  free(s);
  sharc_plan_free(&plan);
}

/* Beyond 2^32 indices auto works in blocks, still covering [0, n) exactly:
 * a single worker's chunks must tile the index space. */
Test(schedule, auto_covers_huge_index_spaces_in_blocks) {
  uint64_t n = (UINT64_C(1) << 40) + 12345;
  sim *s = sim_new("auto", n, 3, NULL);
  uint64_t covered = 0, b, e, scale = sharc__auto_scale(n);
  cr_assert_eq(scale, 257);
  /* Worker 0 alone: its own share, then everything stolen from 1 and 2.
   * Chunks start on block boundaries and add up to n exactly. */
  while (sharc__claim_next(&s->c[0], &b, &e)) {
    cr_assert_lt(b, e);
    cr_assert_leq(e, n);
    cr_assert_eq(b % scale, 0, "chunk starts at %llu", (unsigned long long)b);
    cr_assert(e % scale == 0 || e == n);
    covered += e - b;
    sharc__claim_done(&s->c[0], 0);
  }
  cr_assert_eq(covered, n, "chunks cover %llu of %llu",
               (unsigned long long)covered, (unsigned long long)n);
  cr_assert_geq(s->c[0].steals, 2);
  free(s);
}

/* ---- real pools --------------------------------------------------------- */

static void spin_ns(uint64_t ns) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do
    clock_gettime(CLOCK_MONOTONIC, &t);
  while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u +
             (uint64_t)(t.tv_nsec - t0.tv_nsec) <
         ns);
}

/* out[i] += 1; worker 0 takes 4x as long per index as the others. */
static int slow_mark(const sharc_task *t, uint64_t b, uint64_t e) {
  uint8_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++) {
    out[i]++;
    spin_ns(sharc_task_worker(t) == 0 ? 8000 : 2000);
  }
  return 0;
}
SHARC_KERNEL(slow_mark)

Test(schedule, every_schedule_with_a_slow_worker_does_each_index_once) {
  uint64_t n = 600, shape[1] = {n};
  for (unsigned nw = 1; nw <= 8; nw++) {
    sharc_pool *p = test_pool(nw);
    sharc_array *a;
    cr_assert_eq(sharc_array_create(p, SHARC_U8, 1, shape, NULL, &a), 0);
    for (size_t k = 0; k < NSCHEDS; k++) {
      sharc_job_opts o = SHARC_JOB_OPTS_INIT;
      o.arrays = (sharc_array *[]){a};
      o.narrays = 1;
      cr_assert_eq(sharc_schedule_parse(all_scheds[k], &o.schedule), 0);
      memset(sharc_array_data(a), 0, n);
      sharc_report rep = SHARC_REPORT_INIT;
      cr_assert_eq(sharc_run(p, "slow_mark", n, &o, &rep), 0, "%s",
                   sharc_pool_errmsg(p));
      const uint8_t *out = sharc_array_data(a);
      for (uint64_t i = 0; i < n; i++)
        cr_assert_eq(out[i], 1, "W=%u %s: index %llu done %d times", nw,
                     all_scheds[k], (unsigned long long)i, out[i]);
      cr_assert_eq(rep.indices, n);
      /* With two or more workers the slow one's range is stolen from. */
      if (o.schedule.kind == SHARC_SCHED_AUTO && nw >= 2)
        cr_assert_gt(rep.steals, 0, "W=%u %s: no steals", nw, all_scheds[k]);
      sharc_report_free(&rep);
    }
    sharc_pool_destroy(p);
  }
}

/* A worker that scribbles on another worker's range word cannot make any
 * worker run an index at or past n, and the job never reports success with
 * an index done twice: the coordinator sees the overlap in the counts and
 * restarts the workers. (The other worker may also undo the scribble by
 * storing a range it stole just after: then the job is simply right.) */
static int range_scribbler(const sharc_task *t, uint64_t b, uint64_t e) {
  uint8_t *out = sharc_task_array(t, 0);
  const uintptr_t *cb = sharc_task_args(t, NULL);
  uint64_t n = sharc_task_n(t);
  static int scribbled; /* once per worker process */
  if (b == 0 && !scribbled++) {
    /* whoever runs index 0 hands the other one everything again */
    sharc__range *r = sharc__cb_ranges((sharc__cb *)cb[0], 2);
    atomic_store(&r[1 - sharc_task_worker(t)].word,
                 sharc__pack(0, 0xffffffffu));
  }
  for (uint64_t i = b; i < e && i < n + 64; i++)
    out[i]++;
  return 0;
}
SHARC_KERNEL(range_scribbler)

Test(schedule, a_scribbled_range_word_never_reaches_past_n) {
  sharc_pool *p = test_pool(2);
  uint64_t n = 1000, shape[1] = {n + 64};
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U8, 1, shape, NULL, &a), 0);
  uintptr_t cb = (uintptr_t)p->cb;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_AUTO, 1};
  o.args = &cb;
  o.args_len = sizeof cb;
  unsigned corrupt = 0;
  for (int round = 0; round < 20; round++) {
    memset(sharc_array_data(a), 0, n + 64);
    int rc = sharc_run(p, "range_scribbler", n, &o, NULL);
    cr_assert(rc == SHARC_ECORRUPT || rc == 0, "rc %d: %s", rc,
              sharc_pool_errmsg(p));
    const uint8_t *out = sharc_array_data(a);
    for (uint64_t i = n; i < n + 64; i++)
      cr_assert_eq(out[i], 0, "index %llu past n was run",
                   (unsigned long long)i);
    for (uint64_t i = 0; rc == 0 && i < n; i++)
      cr_assert_eq(out[i], 1, "success reported, index %llu done %d times",
                   (unsigned long long)i, out[i]);
    corrupt += rc == SHARC_ECORRUPT;
    /* Restarted workers scribble again; the same ones do not. */
    if (rc == 0)
      sharc__pool_restart(p);
  }
  cr_assert_gt(corrupt, 0, "the scribble was never seen in 20 rounds");
  /* An honest job runs again. */
  cr_assert_eq(sharc_run(p, "slow_mark", 10, &o, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
}

/* Marks [b, e) in seen. */
static void mark(unsigned char *seen, uint64_t b, uint64_t e) {
  for (uint64_t i = b; i < e; i++)
    seen[i]++;
}

/* Workers 1..nw-1 have run through their own shares (marked in seen):
 * their words are empty, so their next claims steal. */
static void shares_done(sim *s, unsigned nw, uint64_t n, unsigned char *seen) {
  for (unsigned t = 1; t < nw; t++) {
    uint64_t lo, hi;
    sharc__split(n, t, nw, &lo, &hi);
    atomic_store(&s->ranges[t].word, sharc__pack(hi, hi));
    mark(seen, lo, hi);
  }
}

/* Runs what is left of a simulated job (every worker at full speed), checks
 * that every index was claimed exactly once, and frees it. */
static void finish_once(sim *s, unsigned nw, unsigned char *seen, uint64_t n) {
  unsigned speed[SIM_MAX];
  for (unsigned w = 0; w < nw; w++)
    speed[w] = 1;
  sim_run(s, nw, speed, seen, n, 1000);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(seen[i], 1, "index %llu claimed %d times",
                 (unsigned long long)i, seen[i]);
  free(s);
}

/* An owner sizes its chunks from its own view of its range, which thieves
 * make stale; the chunk it then takes ends where the thieves' ranges begin,
 * never inside them. Every index is still run exactly once. */
Test(schedule, auto_owner_with_a_stale_view_stops_where_thieves_took_over) {
  uint64_t n = 1000, b, e;
  unsigned char seen[1000] = {0};
  sim *s = sim_new("auto", n, 2, NULL);
  s->c[0].want = s->c[0].least = 10;
  cr_assert(sharc__claim_next(&s->c[0], &b, &e)); /* loads the view */
  cr_assert(b == 0 && e == 10);
  mark(seen, b, e);
  /* Worker 1 steals from worker 0 three times, running each stolen range
   * whole before the next: [10, 500) becomes [10, 71) while worker 0's view
   * still says [10, 500). */
  shares_done(s, 2, n, seen);
  for (int k = 0; k < 3; k++) {
    cr_assert(sharc__claim_next(&s->c[1], &b, &e));
    cr_assert_eq(s->c[1].victim, 0);
    uint64_t word = atomic_load(&s->ranges[1].word);
    mark(seen, b, word & 0xffffffffu);
    atomic_store(&s->ranges[1].word, sharc__pack(1000, 1000));
  }
  cr_assert_eq(atomic_load(&s->ranges[0].word), sharc__pack(10, 71));
  /* A chunk of 100 by the view (at most half of it, at most a quarter):
   * it ends at 71, where the thief's ranges began. */
  s->c[0].want = 100;
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_eq(s->c[0].victim, -1);
  cr_assert_eq(b, 10);
  cr_assert_eq(e, 71, "chunk [10, %llu) runs into the stolen part",
               (unsigned long long)e);
  mark(seen, b, e);
  finish_once(s, 2, seen, n);
}

/* Near the end of its range (the view says less than four chunks are left)
 * an owner reads its word before it claims: a thief that just halved the
 * range leaves the owner half of the rest, not all of it. */
Test(schedule, auto_owner_near_its_end_takes_half_of_what_is_really_left) {
  uint64_t n = 1000, b, e;
  unsigned char seen[1000] = {0};
  sim *s = sim_new("auto", n, 2, NULL);
  s->c[0].want = s->c[0].least = 1;
  for (int k = 0; k < 351; k++) { /* worker 0 is left with [351, 500) */
    cr_assert(sharc__claim_next(&s->c[0], &b, &e));
    mark(seen, b, e);
  }
  cr_assert_eq(e, 351);
  shares_done(s, 2, n, seen);
  cr_assert(sharc__claim_next(&s->c[1], &b, &e)); /* steals [425, 500) */
  cr_assert_eq(s->c[1].victim, 0);
  cr_assert_eq(b, 425);
  mark(seen, b, e);
  /* By its view worker 0 has 149 left and would take 74; 74 are left. */
  s->c[0].want = 100;
  cr_assert(sharc__claim_next(&s->c[0], &b, &e));
  cr_assert_eq(b, 351);
  cr_assert_eq(e, 351 + 37, "took [351, %llu) of [351, 425)",
               (unsigned long long)e);
  mark(seen, b, e);
  finish_once(s, 2, seen, n);
}

/* With no schedule given a job runs auto, and it prints as plain "auto". */
Test(schedule, the_default_is_auto) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  sharc_schedule d = SHARC_SCHEDULE_DEFAULT;
  cr_assert_eq(o.schedule.kind, SHARC_SCHED_AUTO);
  cr_assert_eq(d.kind, SHARC_SCHED_AUTO);
  char buf[16];
  sharc_schedule_format(o.schedule, buf, sizeof buf);
  cr_assert_str_eq(buf, "auto");
}

Test(schedule, names_parse_and_format) {
  const char *names[] = {"auto", "auto:8", "fac2", "fac2:2", "wf", "wf:3"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    sharc_schedule s;
    char buf[32];
    cr_assert_eq(sharc_schedule_parse(names[i], &s), 0, "%s", names[i]);
    sharc_schedule_format(s, buf, sizeof buf);
    cr_assert_str_eq(buf, names[i]);
  }
  sharc_schedule s;
  cr_assert_eq(sharc_schedule_parse("auto:0", &s), SHARC_EINVAL);
  cr_assert_eq(sharc_schedule_parse("autox", &s), SHARC_EINVAL);
  cr_assert_eq(sharc_schedule_parse("fac", &s), SHARC_EINVAL);
}

/* The table (lib/sched_table.h) gives every public kind a name, and the
 * name and the kind go both ways: NAME parses to the kind and formats to
 * text that parses back to the same schedule; NAME:K formats back to the
 * same text. */
Test(schedule, every_kind_in_the_table_has_a_name_that_round_trips) {
  unsigned kinds = 0;
#define SHARC__X(K, name, flags) kinds++;
  SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  cr_assert_eq(kinds, 6, "the public enum has six kinds");
  for (uint32_t k = 0; k < kinds; k++) {
    cr_assert(sharc__sched_known(k), "kind %u", k);
    const char *name = sharc__sched_names[k];
    cr_assert_not_null(name, "kind %u has no name", k);
    sharc_schedule s;
    cr_assert_eq(sharc_schedule_parse(name, &s), 0, "%s", name);
    cr_assert_eq((uint32_t)s.kind, k, "%s", name);
    char buf[32], text[32];
    sharc_schedule_format(s, buf, sizeof buf);
    sharc_schedule back;
    cr_assert_eq(sharc_schedule_parse(buf, &back), 0, "%s", buf);
    cr_assert_eq(back.kind, s.kind, "%s", buf);
    cr_assert_eq(back.chunk, s.chunk, "%s", buf);
    snprintf(text, sizeof text, "%s:7", name);
    cr_assert_eq(sharc_schedule_parse(text, &s), 0, "%s", text);
    cr_assert_eq((uint32_t)s.kind, k);
    cr_assert_eq(s.chunk, 7);
    sharc_schedule_format(s, buf, sizeof buf);
    cr_assert_str_eq(buf, text);
  }
  cr_assert_null(sharc__sched_names[kinds]);
  cr_assert_str_eq(sharc__sched_names[SHARC_SCHED_STATIC], "static");
  cr_assert_str_eq(sharc__sched_names[SHARC_SCHED_WF], "wf");
}

static int nothing_at_all(const sharc_task *t, uint64_t b, uint64_t e) {
  (void)t, (void)b, (void)e;
  return 0;
}
SHARC_KERNEL(nothing_at_all)

/* A kind past the table is no schedule: not known, formatted as invalid,
 * and a job with it fails with SHARC_EINVAL before anything runs. */
Test(schedule, an_unknown_kind_is_rejected) {
  const uint32_t bad[] = {6, 7, 99, SHARC__SCHED_ITEMS, 0x7fffffff};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_not(sharc__sched_known(bad[i]), "kind %u", bad[i]);
    char buf[32];
    sharc_schedule s = {(sharc_sched_kind)bad[i], 1};
    sharc_schedule_format(s, buf, sizeof buf);
    cr_assert_str_eq(buf, "invalid");
  }
  sharc_pool *p = test_pool(2);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule.kind = (sharc_sched_kind)6;
  o.schedule.chunk = 1;
  cr_assert_eq(sharc_run(p, "nothing_at_all", 100, &o, NULL), SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(p), "unknown schedule kind 6") != NULL,
            "%s", sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
}

/* ---- traces ------------------------------------------------------------- */

/* The trace names every chunk once: its lines tile [0, n) exactly, each
 * worker's chunks agree with the report, and stolen ranges name a victim. */
Test(schedule, a_trace_records_every_chunk) {
  char path[] = "/tmp/sharc-trace-test-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  uint64_t n = 3000, shape[1] = {n};
  sharc_pool *p = test_pool(3);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U8, 1, shape, NULL, &a), 0);
  const char *scheds[] = {"auto", "dynamic:7", "static"};
  for (size_t k = 0; k < 3; k++) {
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = (sharc_array *[]){a};
    o.narrays = 1;
    cr_assert_eq(sharc_schedule_parse(scheds[k], &o.schedule), 0);
    o.trace_path = path;
    memset(sharc_array_data(a), 0, n);
    sharc_report rep = SHARC_REPORT_INIT;
    cr_assert_eq(sharc_run(p, "slow_mark", n, &o, &rep), 0, "%s",
                 sharc_pool_errmsg(p));
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[256], sched[32] = "";
    unsigned char *seen = calloc(n, 1);
    uint64_t chunks[3] = {0}, stolen = 0, span = 0, dropped = 99;
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_str_eq(line, "# sharc trace 1\n");
    while (fgets(line, sizeof line, f) != NULL) {
      unsigned w;
      unsigned long long s, e, b, x, srch;
      long long v;
      if (sscanf(line, "schedule %31s", sched) == 1 ||
          sscanf(line, "makespan_ns %llu", &s) == 1) {
        if (line[0] == 'm')
          span = s;
        continue;
      }
      if (sscanf(line, "dropped %llu", &s) == 1) {
        dropped = s;
        continue;
      }
      if (line[0] != 'c')
        continue;
      cr_assert_eq(sscanf(line, "c %u %llu %llu %llu %llu %lld %llu", &w, &s,
                          &e, &b, &x, &v, &srch),
                   7, "line '%s'", line);
      cr_assert_lt(w, 3);
      cr_assert_leq(s, e);
      cr_assert_leq(e, span);
      cr_assert_lt(b, x);
      cr_assert_leq(x, n);
      for (uint64_t i = b; i < x; i++)
        seen[i]++;
      chunks[w]++;
      stolen += v >= 0;
      cr_assert(v >= -1 && v < 3 && v != (long long)w);
    }
    fclose(f);
    cr_assert_str_eq(sched, scheds[k]);
    cr_assert_eq(dropped, 0);
    for (uint64_t i = 0; i < n; i++)
      cr_assert_eq(seen[i], 1, "%s: index %llu in %d chunks", scheds[k],
                   (unsigned long long)i, seen[i]);
    for (unsigned w = 0; w < 3; w++)
      cr_assert_eq(chunks[w], rep.workers[w].chunks, "%s: worker %u", scheds[k],
                   w);
    /* Only auto steals; its stolen chunks come after a steal. */
    if (k > 0 || rep.steals == 0)
      cr_assert_eq(stolen, 0);
    free(seen);
    sharc_report_free(&rep);
  }
  unlink(path);
  sharc_pool_destroy(p);
}

/* A trace that cannot be written fails the job that asked for it, and
 * leaves no temporary file behind. */
Test(schedule, an_unwritable_trace_path_is_an_error) {
  sharc_pool *p = test_pool(2);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.trace_path = "/nonexistent-dir/trace.txt";
  int rc = sharc_run(p, "slow_mark", 0, &o, NULL);
  cr_assert_eq(rc, -ENOENT, "rc %d", rc);
  cr_assert(strstr(sharc_pool_errmsg(p), "/nonexistent-dir/trace.txt") != NULL,
            "%s", sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
}

/* SHARC_SCHEDULE is the schedule of jobs that leave theirs at the default,
 * as OMP_SCHEDULE is for OpenMP; a schedule set by the program wins, and a
 * bad value fails the job naming the variable. */
static int nothing(const sharc_task *t, uint64_t b, uint64_t e) {
  (void)t, (void)b, (void)e;
  return 0;
}
SHARC_KERNEL(nothing)

Test(schedule, sharc_schedule_applies_when_the_program_does_not_choose) {
  sharc_pool *p = test_pool(2);
  sharc_report rep = SHARC_REPORT_INIT;
  setenv("SHARC_SCHEDULE", "dynamic:7", 1);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_run(p, "nothing", 700, &o, &rep), 0, "%s",
               sharc_pool_errmsg(p));
  cr_assert_eq(rep.schedule.kind, SHARC_SCHED_DYNAMIC);
  cr_assert_eq(rep.schedule.chunk, 7);
  cr_assert_eq(rep.chunks, 100);
  sharc_report_free(&rep);
  cr_assert_eq(sharc_schedule_parse("auto", &o.schedule), 0);
  cr_assert_eq(sharc_run(p, "nothing", 700, &o, &rep), 0);
  cr_assert_eq(rep.schedule.kind, SHARC_SCHED_AUTO, "the program's choice");
  sharc_report_free(&rep);
  setenv("SHARC_SCHEDULE", "sometimes", 1);
  sharc_job_opts d = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_run(p, "nothing", 700, &d, NULL), SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(p), "SHARC_SCHEDULE=sometimes") != NULL,
            "%s", sharc_pool_errmsg(p));
  unsetenv("SHARC_SCHEDULE");
  cr_assert_eq(sharc_run(p, "nothing", 700, &d, &rep), 0);
  cr_assert_eq(rep.schedule.kind, SHARC_SCHED_AUTO);
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}
