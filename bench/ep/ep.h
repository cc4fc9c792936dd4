/* NPB EP (the NAS Parallel Benchmarks' "embarrassingly parallel" kernel) on
 * sharc: the per-batch core, the sharc kernel and a driver that declares
 * EP's outputs as two reductions (a SUM of width 2 for sx and sy, a COUNT of
 * width 10 for the annulus counts q).
 *
 * EP as NPB specifies it (NPB 3.x ep.f / ep.c): 2^(M+1) uniform numbers in
 * 2^(M-16) batches of 2^17 from NPB's linear congruential generator
 * x_{k+1} = a x_k mod 2^46, a = 5^13, seed 271828183, computed in double
 * precision (randlc / vranlc); batch k starts at seed * a^(2^17 k), found
 * by binary exponentiation. Each pair (x1, x2) mapped to [-1, 1)^2 with
 * t = x1^2 + x2^2 <= 1 gives two Gaussian deviates X = x1 sqrt(-2 ln t / t)
 * and Y likewise; sx and sy sum them, and q[l] counts the pairs with
 * max(|X|, |Y|) in [l, l + 1). Verification, as in NPB: |sx - ref| / |ref|
 * and the same for sy at most 1e-8.
 *
 * Header-only so that bench/bench_ep.c and tests/test_reduce_vec.c share one
 * copy; a program includes it once (it registers the kernel "npb_ep"). */
#ifndef SHARC_BENCH_EP_H
#define SHARC_BENCH_EP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <sharc.h>

#define EP_MK 16 /* a batch holds 2^MK pairs */
#define EP_NK (1 << EP_MK)
#define EP_NQ 10          /* annuli */
#define EP_A 1220703125.0 /* 5^13 */
#define EP_SEED 271828183.0
#define EP_EPSILON 1.0e-8

/* One NPB problem class: M, and the official verification sums. */
typedef struct ep_class {
  char name;
  int m;
  double sx, sy;
} ep_class;

/* The values NPB publishes in ep.f / ep.c (classes S to D). */
static const ep_class ep_classes[] = {
    {'S', 24, -3.247834652034740e3, -6.958407078382297e3},
    {'W', 25, -2.863319731645753e3, -6.320053679109499e3},
    {'A', 28, -4.295875165629892e3, -1.580732573678431e4},
    {'B', 30, 4.033815542441498e4, -2.660669192809235e4},
    {'C', 32, 4.764367927995374e4, -8.084072988043731e4},
    {'D', 36, 1.982481200946593e5, -1.020596636361769e5},
};

static inline const ep_class *ep_class_find(char name) {
  for (size_t i = 0; i < sizeof ep_classes / sizeof ep_classes[0]; i++) {
    if (ep_classes[i].name == name)
      return &ep_classes[i];
  }
  return NULL;
}

/* NPB's randlc: x = a * x mod 2^46, returned as x * 2^-46, in double
 * precision by splitting both factors into 23-bit halves (exact). */
#define EP_R23 (1.0 / 8388608.0) /* 2^-23 */
#define EP_R46 (EP_R23 * EP_R23)
#define EP_T23 8388608.0 /* 2^23 */
#define EP_T46 (EP_T23 * EP_T23)

static inline double ep_randlc(double *x, double a) {
  double t1 = EP_R23 * a;
  double a1 = (int)t1;
  double a2 = a - EP_T23 * a1;
  t1 = EP_R23 * *x;
  double x1 = (int)t1;
  double x2 = *x - EP_T23 * x1;
  t1 = a1 * x2 + a2 * x1;
  double t2 = (int)(EP_R23 * t1);
  double z = t1 - EP_T23 * t2;
  double t3 = EP_T23 * z + a2 * x2;
  double t4 = (int)(EP_R46 * t3);
  *x = t3 - EP_T46 * t4;
  return EP_R46 * *x;
}

/* NPB's vranlc: n numbers of the sequence after *x into y[0..n). */
static inline void ep_vranlc(int n, double *x, double a, double *y) {
  double t1 = EP_R23 * a;
  double a1 = (int)t1;
  double a2 = a - EP_T23 * a1;
  double s = *x;
  for (int i = 0; i < n; i++) {
    t1 = EP_R23 * s;
    double x1 = (int)t1;
    double x2 = s - EP_T23 * x1;
    t1 = a1 * x2 + a2 * x1;
    double t2 = (int)(EP_R23 * t1);
    double z = t1 - EP_T23 * t2;
    double t3 = EP_T23 * z + a2 * x2;
    double t4 = (int)(EP_R46 * t3);
    s = t3 - EP_T46 * t4;
    y[i] = EP_R46 * s;
  }
  *x = s;
}

/* a^(2^(MK+1)): the multiplier that jumps one batch, as NPB computes it. */
static inline double ep_batch_jump(void) {
  double t1 = EP_A;
  for (int i = 1; i <= EP_MK + 1; i++)
    (void)ep_randlc(&t1, t1);
  return t1;
}

/* The per-batch core, shared by every way of running EP here: batch k
 * (0-based) with x a buffer of 2 * EP_NK doubles; adds to *sx, *sy and q
 * in the batch's own order. Returns 0, or -1 for a deviate outside the ten
 * annuli (NPB would index past q; it does not happen for classes S to D). */
static inline int ep_batch(uint64_t k, double an, double *x, double *sx,
                           double *sy, uint64_t q[EP_NQ]) {
  double t1 = EP_SEED, t2 = an;
  uint64_t kk = k;
  for (int i = 0; i < 100; i++) {
    uint64_t ik = kk / 2;
    if (2 * ik != kk)
      (void)ep_randlc(&t1, t2);
    if (ik == 0)
      break;
    (void)ep_randlc(&t2, t2);
    kk = ik;
  }
  ep_vranlc(2 * EP_NK, &t1, EP_A, x);
  double bx = *sx, by = *sy;
  for (int i = 0; i < EP_NK; i++) {
    double x1 = 2.0 * x[2 * i] - 1.0;
    double x2 = 2.0 * x[2 * i + 1] - 1.0;
    double t = x1 * x1 + x2 * x2;
    if (t <= 1.0) {
      double f = sqrt(-2.0 * log(t) / t);
      double gx = x1 * f, gy = x2 * f;
      double l = fmax(fabs(gx), fabs(gy));
      if (!(l < EP_NQ))
        return -1;
      q[(int)l]++;
      bx += gx;
      by += gy;
    }
  }
  *sx = bx;
  *sy = by;
  return 0;
}

typedef struct ep_args {
  double an; /* ep_batch_jump() */
} ep_args;

/* The sharc kernel: one index per batch; each batch's two sums and ten
 * counts go into its block's partials with one call each. */
static int ep_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  static double x[2 * EP_NK]; /* one per worker process */
  const ep_args *a = sharc_task_args(t, NULL);
  if (a == NULL)
    return SHARC_EINVAL;
  for (uint64_t k = begin; k < end; k++) {
    double s[2] = {0.0, 0.0};
    uint64_t q[EP_NQ] = {0};
    if (ep_batch(k, a->an, x, &s[0], &s[1], q) != 0)
      return SHARC_ERANGE;
    int rc = sharc_task_sum_vec(t, 0, k, s);
    if (rc == 0)
      rc = sharc_task_count_vec(t, 1, k, q);
    if (rc != 0)
      return rc;
  }
  return 0;
}
SHARC_KERNEL_NAMED("npb_ep", ep_kernel)

typedef struct ep_result {
  double sx, sy;
  uint64_t q[EP_NQ];
  uint64_t gc; /* pairs accepted: the sum of q */
} ep_result;

/* Runs EP of class c on the pool with schedule `sched` (NULL: the default)
 * and no other option; with rep not NULL, also measures the workers' CPU
 * time into it (release it with sharc_report_free()). Returns sharc_run()'s
 * code. */
static inline int ep_run_sharc(sharc_pool *pool, const ep_class *c,
                               const char *sched, ep_result *r,
                               sharc_report *rep) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  if (sched != NULL && sharc_schedule_parse(sched, &o.schedule) != 0)
    return SHARC_EINVAL;
  ep_args a = {ep_batch_jump()};
  o.args = &a;
  o.args_len = sizeof a;
  double sums[2];
  /* reduction 0: the two sums; 1: the ten counts */
  sharc_reduce_spec red[2] = {SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM),
                              SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_COUNT)};
  red[0].width = 2;
  red[0].sums = sums;
  red[1].width = EP_NQ;
  red[1].counts = r->q;
  sharc_reduce_result res[2];
  memset(r, 0, sizeof *r);
  o.reduce = red;
  o.reduce_out = res;
  o.nreduce = 2;
  o.measure_rusage = rep != NULL;
  int rc = sharc_run(pool, "npb_ep", UINT64_C(1) << (c->m - EP_MK), &o, rep);
  if (rc != 0)
    return rc;
  r->sx = sums[0];
  r->sy = sums[1];
  r->gc = res[1].count;
  return 0;
}

/* NPB's verification. */
static inline int ep_verified(const ep_class *c, const ep_result *r) {
  return fabs((r->sx - c->sx) / c->sx) <= EP_EPSILON &&
         fabs((r->sy - c->sy) / c->sy) <= EP_EPSILON;
}

#endif
