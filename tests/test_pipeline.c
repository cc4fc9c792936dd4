/* Pipelines: reader -> pool -> writer over a bounded ring. The output must
 * be every item, transformed, in reading order; memory stays at the ring's
 * slots with a reader far faster than the workers; a slow writer still gets
 * everything in order; a failing stage is named with its slot and index,
 * and nothing after it is written. */
#define SHARC_EXPERIMENTAL_API /* pipelines */
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "helpers.h"

/* Item i of the input is the u64 i; the transform maps x to 3x + seq. */
static int triple(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *x = sharc_pipeline_slot(t);
  uint64_t seq = sharc_pipeline_seq(t);
  size_t len;
  const uint64_t *poison = sharc_pipeline_args(t, &len);
  if (x == NULL || e > sharc_pipeline_items(t))
    return SHARC_EINVAL;
  for (uint64_t i = b; i < e; i++) {
    if (len == sizeof(uint64_t) && x[i] == *poison)
      return SHARC_EKERNEL;
    x[i] = 3 * x[i] + seq;
  }
  return 0;
}
SHARC_KERNEL(triple)

typedef struct io {
  uint64_t total, next_in;   /* items to read, the next one */
  uint64_t expect;           /* the next item the writer expects */
  uint64_t *seq_of;          /* slot seq each item was read in */
  int order_ok;
  uint64_t written;
  int64_t fail_read_at;      /* seq whose read fails, or -1 */
  int64_t fail_write_at;     /* seq whose write fails, or -1 */
  long write_spin_ns;        /* a slow writer */
} io;

static int64_t reader(void *slot, uint64_t cap, uint64_t seq, void *arg) {
  io *s = arg;
  if ((int64_t)seq == s->fail_read_at)
    return SHARC_EIO;
  uint64_t *x = slot, k = 0;
  for (; k < cap && s->next_in < s->total; k++) {
    s->seq_of[s->next_in] = seq;
    x[k] = s->next_in++;
  }
  return (int64_t)k;
}

static int writer(const void *slot, uint64_t items, uint64_t seq, void *arg) {
  io *s = arg;
  if ((int64_t)seq == s->fail_write_at)
    return SHARC_ENOSPC;
  if (s->write_spin_ns)
    test_spin_ns(s->write_spin_ns);
  const uint64_t *x = slot;
  for (uint64_t k = 0; k < items; k++, s->expect++) {
    if (x[k] != 3 * s->expect + s->seq_of[s->expect])
      s->order_ok = 0;
  }
  s->written += items;
  return 0;
}

static sharc_pipeline_opts opts(io *s, uint64_t slot_items, unsigned slots) {
  sharc_pipeline_opts po = SHARC_PIPELINE_OPTS_INIT;
  po.kernel = "triple";
  po.item_bytes = sizeof(uint64_t);
  po.slot_items = slot_items;
  po.slots = slots;
  po.read = reader;
  po.write = writer;
  po.arg = s;
  return po;
}

static io make_io(uint64_t total) {
  io s;
  memset(&s, 0, sizeof s);
  s.total = total;
  s.seq_of = calloc(total + 1, sizeof *s.seq_of);
  s.order_ok = 1;
  s.fail_read_at = s.fail_write_at = -1;
  return s;
}

Test(pipeline, every_item_transformed_in_order_with_a_bounded_ring) {
  sharc_pool *p = test_pool(2);
  io s = make_io(1000003); /* a short last slot */
  sharc_pipeline_opts po = opts(&s, 4096, 3);
  sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
  int rc = sharc_pipeline_run(p, &po, &res);
  cr_assert_eq(rc, 0, "%s", res.error);
  cr_assert_eq(s.written, s.total);
  cr_assert(s.order_ok, "items out of order or wrongly transformed");
  uint64_t slots = (s.total + 4095) / 4096;
  cr_assert_eq(res.slots_read, slots);
  cr_assert_eq(res.slots_written, slots);
  cr_assert_eq(res.items, s.total);
  /* The reader is far faster than a job per slot: it fills the ring and
   * then waits, never holding more than the ring's 3 slots. */
  cr_assert_leq(res.max_in_flight, 3);
  cr_assert_geq(res.max_in_flight, 1);
  cr_assert_null(res.failed_stage);
  free(s.seq_of);
  sharc_pool_destroy(p);
}

Test(pipeline, a_slow_writer_gets_everything_in_order) {
  sharc_pool *p = test_pool(2);
  io s = make_io(200000);
  s.write_spin_ns = 2000000; /* 2 ms a slot */
  sharc_pipeline_opts po = opts(&s, 2000, 2);
  sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
  cr_assert_eq(sharc_pipeline_run(p, &po, &res), 0, "%s", res.error);
  cr_assert_eq(s.written, s.total);
  cr_assert(s.order_ok);
  cr_assert_leq(res.max_in_flight, 2);
  free(s.seq_of);
  sharc_pool_destroy(p);
}

Test(pipeline, a_failing_transform_names_its_slot_and_index_and_stops_writing) {
  sharc_pool *p = test_pool(2);
  io s = make_io(100000);
  sharc_pipeline_opts po = opts(&s, 1000, 4);
  uint64_t poison = 54321; /* slot 54, index 321 */
  po.job.args = &poison;
  po.job.args_len = sizeof poison;
  sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
  int rc = sharc_pipeline_run(p, &po, &res);
  cr_assert_eq(rc, SHARC_EKERNEL, "%s", sharc_strerror(rc));
  cr_assert_str_eq(res.failed_stage, "transform");
  cr_assert_eq(res.failed_seq, 54);
  cr_assert_eq(res.failed_index, 321);
  cr_assert_eq(res.slots_written, 54, "every slot before the failure, none after");
  cr_assert_eq(s.written, 54000);
  cr_assert(s.order_ok);
  cr_assert(strstr(res.error, "slot 54") != NULL, "%s", res.error);
  sharc_pipeline_result_free(&res);
  free(s.seq_of);
  /* The pool works on. */
  io t = make_io(5000);
  sharc_pipeline_opts po2 = opts(&t, 1000, 2);
  cr_assert_eq(sharc_pipeline_run(p, &po2, &res), 0, "%s", res.error);
  cr_assert_eq(t.written, 5000);
  cr_assert_str_eq(res.error, "");
  sharc_pipeline_result_free(&res);
  free(t.seq_of);
  sharc_pool_destroy(p);
}

Test(pipeline, a_failing_reader_or_writer_is_named_and_nothing_is_lost_silently) {
  sharc_pool *p = test_pool(2);
  io s = make_io(50000);
  s.fail_read_at = 7;
  sharc_pipeline_opts po = opts(&s, 1000, 3);
  sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
  cr_assert_eq(sharc_pipeline_run(p, &po, &res), SHARC_EIO);
  cr_assert_str_eq(res.failed_stage, "read");
  cr_assert_eq(res.failed_seq, 7);
  cr_assert_eq(res.slots_read, 7);
  cr_assert_eq(res.slots_written, 7); /* what was read before is written */
  cr_assert_eq(s.written, 7000);
  sharc_pipeline_result_free(&res);
  free(s.seq_of);

  io w = make_io(50000);
  w.fail_write_at = 11;
  po = opts(&w, 1000, 3);
  cr_assert_eq(sharc_pipeline_run(p, &po, &res), SHARC_ENOSPC);
  cr_assert_str_eq(res.failed_stage, "write");
  cr_assert_eq(res.failed_seq, 11);
  cr_assert_eq(res.slots_written, 11);
  cr_assert_eq(w.written, 11000);
  cr_assert(strstr(res.error, "write of slot 11") != NULL, "%s", res.error);
  sharc_pipeline_result_free(&res);
  free(w.seq_of);

  sharc_pipeline_opts bad = opts(&w, 0, 3);
  cr_assert_eq(sharc_pipeline_run(p, &bad, &res), SHARC_EINVAL);
  sharc_pipeline_result_free(&res);
  bad = opts(&w, 10, 3);
  bad.size = 16;
  cr_assert_eq(sharc_pipeline_run(p, &bad, &res), SHARC_EINVAL);
  sharc_pipeline_result_free(&res);
  /* A result from other headers is refused before anything runs. */
  sharc_pipeline_result other = SHARC_PIPELINE_RESULT_INIT;
  other.size = 8;
  po = opts(&w, 10, 3);
  cr_assert_eq(sharc_pipeline_run(p, &po, &other), SHARC_EINVAL);
  sharc_pool_destroy(p);
}
