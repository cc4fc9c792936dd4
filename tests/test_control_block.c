/* The control block is untrusted: a worker that scribbles on any field the
 * coordinator reads gets a clean SHARC_ECORRUPT naming the field, never a
 * crash or a hang, and the pool works again afterwards. */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

typedef struct scribble {
  uintptr_t cb;      /* the control block: mapped at the same address in */
  uint64_t offset;   /* every worker, since they are forked after it */
  uint64_t value;
  uint32_t width;    /* 4 or 8 bytes */
} scribble;

/* Index 0 (worker 0 under static scheduling) waits until worker 1 has
 * reported, then overwrites one field; index 1 is worker 1's. */
static int scribbler(const sharc_task *t, uint64_t b, uint64_t e) {
  const scribble *s = sharc_task_args(t, NULL);
  sharc__cb *cb = (sharc__cb *)s->cb;
  if (b != 0 || e == 0)
    return 0;
  uint32_t seq = atomic_load(&cb->seq);
  for (int i = 0; i < 20000; i++) {
    if (atomic_load(&cb->slots[1].done_seq) == seq)
      break;
    usleep(100);
  }
  char *field = (char *)cb + s->offset;
  if (s->width == 4) {
    uint32_t v = (uint32_t)s->value;
    memcpy(field, &v, 4);
  } else {
    memcpy(field, &s->value, 8);
  }
  return 0;
}
SHARC_KERNEL(scribbler)

#define SLOT1(f) (offsetof(sharc__cb, slots) + sizeof(sharc__slot) + offsetof(sharc__slot, f))

static const struct {
  const char *what;  /* expected in the message */
  uint64_t offset;
  uint32_t width;
  uint64_t value;
} cases[] = {
    {"magic", offsetof(sharc__cb, magic), 8, 0xdeadbeef},
    {"version", offsetof(sharc__cb, version), 4, 99},
    {"slot count", offsetof(sharc__cb, nslots), 4, 1000000},
    {"size", offsetof(sharc__cb, size), 8, 1},
    {"job sequence", offsetof(sharc__cb, seq), 4, 12345},
    {"shutdown flag", offsetof(sharc__cb, shutdown), 4, 1},
    {"done_seq", SLOT1(done_seq), 4, 3},
    {"index count", SLOT1(indices), 8, UINT64_C(1) << 40},
    {"chunk count", SLOT1(chunks), 8, 5},
    {"steal count", SLOT1(steals), 8, UINT64_C(1) << 40},
    {"current range", SLOT1(cur_end), 8, UINT64_C(1) << 50},
    {"current range", SLOT1(cur_begin), 8, 5},
    {"finish time", SLOT1(end_ns), 8, UINT64_C(1) << 60},
    {"wake-up time", SLOT1(wake_ns), 8, UINT64_C(1) << 59},
    {"busy time", SLOT1(busy_ns), 8, UINT64_C(1) << 59},
    {"claim time", SLOT1(claim_ns), 8, UINT64_C(1) << 59},
    {"CPU time", SLOT1(cpu_ns), 8, UINT64_C(1) << 59},
    {"memory figure", SLOT1(peak_rss), 8, UINT64_C(1) << 60},
};

Test(control_block, every_corrupted_field_gives_a_clean_error) {
  sharc_pool *p = test_pool(2);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cr_log_info("field %s", cases[i].what);
    scribble s = {(uintptr_t)p->cb, cases[i].offset, cases[i].value,
                  cases[i].width};
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.schedule = (sharc_schedule){SHARC_SCHED_STATIC, 0};
    o.args = &s;
    o.args_len = sizeof s;
    sharc_report rep = SHARC_REPORT_INIT;
    int rc = sharc_run(p, "scribbler", 2, &o, &rep);
    cr_assert_eq(rc, SHARC_ECORRUPT, "field %s: rc %d (%s)", cases[i].what, rc,
                 sharc_pool_errmsg(p));
    cr_assert(strstr(sharc_pool_errmsg(p), cases[i].what) != NULL,
              "field %s: message '%s'", cases[i].what, sharc_pool_errmsg(p));
    cr_assert_eq(rep.status, SHARC_ECORRUPT);
    sharc_report_free(&rep);
    /* The workers were restarted: the pool computes correctly again. */
    sharc_report ok = SHARC_REPORT_INIT;
    cr_assert_eq(sharc_run(p, "scribbler", 0, &o, &ok), 0,
                 "after field %s: %s", cases[i].what, sharc_pool_errmsg(p));
    sharc_report_free(&ok);
  }
  sharc_pool_destroy(p);
}

/* Under a fault policy a worker that scribbles on its own slot is killed,
 * its pass runs again, and the job finishes with every result right. */
static int scribble_own_slot(const sharc_task *t, uint64_t b, uint64_t e) {
  const scribble *s = sharc_task_args(t, NULL);
  int64_t *out = sharc_task_array(t, 0);
  _Atomic uint32_t *once = sharc_task_array(t, 1); /* once per job */
  for (uint64_t i = b; i < e; i++)
    out[i] = 3 * (int64_t)i;
  if (atomic_exchange(once, 1) == 0) {
    sharc__cb *cb = (sharc__cb *)s->cb;
    unsigned w = sharc_task_worker(t);
    cb->slots[w].wake_ns = UINT64_C(1) << 59; /* woke after it finished */
  }
  return 0;
}
SHARC_KERNEL(scribble_own_slot)

Test(control_block, a_scribbling_worker_is_killed_and_the_job_finishes) {
  sharc_pool *p = test_pool(2);
  uint64_t n = 5000, shape[1] = {n};
  sharc_array *a, *once;
  uint64_t one[1] = {1};
  cr_assert_eq(sharc_array_create(p, SHARC_I64, 1, shape, NULL, &a), 0);
  cr_assert_eq(sharc_array_create(p, SHARC_U32, 1, one, NULL, &once), 0);
  scribble s = {(uintptr_t)p->cb, 0, 0, 0};
  const char *scheds[] = {"static", "dynamic:64", "auto"};
  for (size_t k = 0; k < 3; k++) {
    memset(sharc_array_data(a), 0xff, n * sizeof(int64_t));
    *(uint32_t *)sharc_array_data(once) = 0;
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = (sharc_array *[]){a, once};
    o.narrays = 2;
    cr_assert_eq(sharc_schedule_parse(scheds[k], &o.schedule), 0);
    o.args = &s;
    o.args_len = sizeof s;
    o.fault.retries = 1;
    sharc_report rep = SHARC_REPORT_INIT;
    int rc = sharc_run(p, "scribble_own_slot", n, &o, &rep);
    cr_assert_eq(rc, 0, "%s: rc %d: %s", scheds[k], rc, sharc_pool_errmsg(p));
    cr_assert_geq(rep.deaths, 1, "%s: the scribbler was not killed",
                  scheds[k]);
    const int64_t *out = sharc_array_data(a);
    for (uint64_t i = 0; i < n; i++)
      cr_assert_eq(out[i], 3 * (int64_t)i, "%s: index %llu", scheds[k],
                   (unsigned long long)i);
    sharc_report_free(&rep);
  }
  /* Without retries it stays an error, and the pool works on. */
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a, once};
  o.narrays = 2;
  o.args = &s;
  o.args_len = sizeof s;
  *(uint32_t *)sharc_array_data(once) = 0;
  cr_assert_eq(sharc_run(p, "scribble_own_slot", n, &o, NULL), SHARC_ECORRUPT);
  *(uint32_t *)sharc_array_data(once) = 0;
  o.fault.retries = 1;
  cr_assert_eq(sharc_run(p, "scribble_own_slot", n, &o, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
}
