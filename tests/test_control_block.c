/* The control block is untrusted: a worker that scribbles on any field the
 * coordinator reads gets a clean SHARC_ECORRUPT naming the field, never a
 * crash or a hang, and the pool works again afterwards. */
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
    sharc_report rep;
    int rc = sharc_run(p, "scribbler", 2, &o, &rep);
    cr_assert_eq(rc, SHARC_ECORRUPT, "field %s: rc %d (%s)", cases[i].what, rc,
                 sharc_pool_errmsg(p));
    cr_assert(strstr(sharc_pool_errmsg(p), cases[i].what) != NULL,
              "field %s: message '%s'", cases[i].what, sharc_pool_errmsg(p));
    cr_assert_eq(rep.status, SHARC_ECORRUPT);
    sharc_report_free(&rep);
    /* The workers were restarted: the pool computes correctly again. */
    sharc_report ok;
    cr_assert_eq(sharc_run(p, "scribbler", 0, &o, &ok), 0,
                 "after field %s: %s", cases[i].what, sharc_pool_errmsg(p));
    sharc_report_free(&ok);
  }
  sharc_pool_destroy(p);
}
