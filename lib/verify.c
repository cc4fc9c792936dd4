/* The control block is untrusted input (a kernel may scribble on it):
 * every value the coordinator takes from it is checked here, and the
 * workers' tallies must prove that every index ran exactly once. */
#include <signal.h>
#include <string.h>

#include "job_int.h"

#define CORRUPT(pool, w, field, value)                                         \
  sharc__fail(pool, SHARC_ECORRUPT,                                            \
              "control block: worker %u wrote an impossible %s (%llu); "       \
              "workers restarted",                                             \
              w, field, (unsigned long long)(value))

/* The control block is untrusted: check each value before it is used. */
static int check_slot(sharc_pool *pool, const job_state *js, unsigned w) {
  const sharc__slot *s = &pool->cb->slots[w];
  uint64_t wall = js->done_ns - js->post_ns + 1000; /* clock slack */
  if (s->indices > js->n)
    return CORRUPT(pool, w, "index count", s->indices);
  if (s->chunks > s->indices)
    return CORRUPT(pool, w, "chunk count", s->chunks);
  if (s->steals > js->n)
    return CORRUPT(pool, w, "steal count", s->steals);
  if (s->cur_begin > s->cur_end || s->cur_end > js->n)
    return CORRUPT(pool, w, "current range end", s->cur_end);
  if (s->end_ns > wall)
    return CORRUPT(pool, w, "finish time (ns)", s->end_ns);
  if (s->wake_ns > s->end_ns)
    return CORRUPT(pool, w, "wake-up time (ns)", s->wake_ns);
  if (s->busy_ns > s->end_ns)
    return CORRUPT(pool, w, "busy time (ns)", s->busy_ns);
  if (s->claim_ns > s->end_ns)
    return CORRUPT(pool, w, "claim time (ns)", s->claim_ns);
  if (s->cpu_ns > wall + 20000000u)
    return CORRUPT(pool, w, "CPU time (ns)", s->cpu_ns);
  if (s->peak_rss > (UINT64_C(1) << 50) || s->private_bytes > (UINT64_C(1) << 50))
    return CORRUPT(pool, w, "memory figure", s->peak_rss);
  return 0;
}

static int check_header(sharc_pool *pool, const job_state *js) {
  const sharc__cb *cb = pool->cb;
  const char *field = NULL;
  uint64_t value = 0;
  if (cb->magic != SHARC__CB_MAGIC)
    field = "magic", value = cb->magic;
  else if (cb->version != SHARC__CB_VERSION)
    field = "version", value = cb->version;
  else if (cb->nslots != pool->nworkers)
    field = "slot count", value = cb->nslots;
  else if (cb->size != pool->cb_len)
    field = "size", value = cb->size;
  else if (atomic_load(&cb->seq) != js->seq)
    field = "job sequence", value = atomic_load(&cb->seq);
  else if (atomic_load(&cb->shutdown) != 0)
    field = "shutdown flag", value = atomic_load(&cb->shutdown);
  if (field == NULL)
    return 0;
  return sharc__fail(pool, SHARC_ECORRUPT,
                     "control block: header field %s is %llu; workers "
                     "restarted", field, (unsigned long long)value);
}

int sharc__check_all(job_state *js) {
  sharc_pool *pool = js->pool;
  int rc = check_header(pool, js);
  uint64_t indices = 0;
  for (unsigned w = 0; rc == 0 && w < pool->nworkers; w++) {
    if (pool->w[w].pid <= 0)
      continue;
    rc = check_slot(pool, js, w);
    /* Under a fault policy a worker that wrote nonsense into its own slot
     * is killed and its pass run again (kernels that allow retries are
     * idempotent): nothing it reported is believed, nothing else is lost. */
    if (rc == SHARC_ECORRUPT && js->ws != NULL) {
      sharc__worker_kill(pool, w);
      js->ndead++;
      js->ws[w].died = 1;
      js->ws[w].signal = SIGKILL;
      js->ws[w].corrupt = 1;
      rc = 0;
      continue;
    }
    indices += pool->cb->slots[w].indices;
  }
  if (rc == 0 && indices > js->n)
    rc = sharc__fail(pool, SHARC_ECORRUPT,
                     "control block: workers report %llu indices done of %llu; "
                     "workers restarted", (unsigned long long)indices,
                     (unsigned long long)js->n);
  return rc;
}

/* What the workers' tallies say the pass completed: every slot whose
 * worker began the pass, live or dead (a dead worker's completed chunks
 * stay done), plus what workers replaced during the pass had tallied. */
static sharc__tally pass_tally(const sharc_pool *pool, const job_state *js) {
  sharc__tally t = js->harvest;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    const sharc__slot *s = &pool->cb->slots[w];
    if (s->started_seq == js->seq)
      sharc__tally_sum(&t, &s->tally);
  }
  return t;
}

/* Names the failure: a death first, then a kernel error, then a shortfall. */
int sharc__job_status(const job_state *js) {
  sharc_pool *pool = js->pool;
  if (js->first_dead >= 0)
    return sharc__fail(pool, SHARC_EWORKER,
                       "worker %d %s while running '%s' on indices [%llu, "
                       "%llu); %u worker(s) died and were replaced",
                       js->first_dead, js->dead_why, js->kernel,
                       (unsigned long long)js->dead_range[0],
                       (unsigned long long)js->dead_range[1], js->ndead);
  uint64_t indices = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    const sharc__slot *s = &pool->cb->slots[w];
    indices += s->indices;
    if (s->err == 0)
      continue;
    if (s->err == SHARC_ENOKERNEL)
      return sharc__fail(pool, SHARC_ENOKERNEL,
                         "worker %u does not know kernel '%s' (registered "
                         "after the pool started?)", w, js->kernel);
    return sharc__fail(pool, SHARC_EKERNEL,
                       "worker %u: kernel '%s' returned %d (%s) on indices "
                       "[%llu, %llu)", w, js->kernel, (int)s->err,
                       sharc_strerror(s->err),
                       (unsigned long long)s->cur_begin,
                       (unsigned long long)s->cur_end);
  }
  if (indices != js->n)
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "control block: workers report %llu indices done of "
                       "%llu; workers restarted", (unsigned long long)indices,
                       (unsigned long long)js->n);
  sharc__tally want = {0, 0, 0}, got = pass_tally(pool, js);
  sharc__tally_add(&want, 0, js->n);
  if (!sharc__tally_eq(&got, &want))
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "'%s': the workers' records of completed ranges do "
                       "not cover [0, %llu) exactly once (%llu indices "
                       "recorded): indices were skipped or run twice, as when "
                       "a kernel writes into sharc's control block; workers "
                       "restarted", js->kernel, (unsigned long long)js->n,
                       (unsigned long long)got.count);
  return 0;
}

/* Adds what items run to t, by the workers' rule: each range clamped to n,
 * an item ending at its first empty range. */
void sharc__items_tally(sharc__tally *t, const sharc__fitem *fi, size_t k,
                        uint64_t n) {
  for (size_t j = 0; j < k; j++) {
    const sharc__item *it = &fi[j].it;
    for (uint64_t i = 0; i < it->count; i++) {
      uint64_t b = it->begin + i * it->stride, e = it->end + i * it->stride;
      if (e > n)
        e = n;
      if (b >= e)
        break;
      sharc__tally_add(t, b, e);
    }
  }
}

/* A pass is accepted only when what the workers tallied as completed,
 * what goes to the next pass and what it quarantined add up to exactly
 * what the pass was meant to run (`meant`). Anything else means records
 * the coordinator took from the control block (claim counters, range
 * words, current ranges) were wrong: the pass runs again whole, and a job
 * whose passes keep failing this check stops with SHARC_ECORRUPT. */
#define SHARC__MAX_MISMATCHES 3
int sharc__verify_pass(job_state *js, const sharc__tally *meant) {
  sharc_pool *pool = js->pool;
  sharc__faults *f = js->faults;
  if (f->redo || f->poisoned || f->nomem)
    return 0; /* run again whole, or stopping anyway */
  sharc__tally got = pass_tally(pool, js);
  sharc__items_tally(&got, f->next, f->nnext, f->n);
  for (size_t k = f->nq_pass; k < f->nq; k++)
    sharc__tally_add(&got, f->q[k].begin, f->q[k].end);
  if (sharc__tally_eq(&got, meant)) {
    js->mismatches = 0;
    return 0;
  }
  if (++js->mismatches > SHARC__MAX_MISMATCHES)
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "'%s': the workers' records of completed ranges did "
                       "not account for every index of the pass %u times in "
                       "a row (indices skipped or run twice, as when a kernel "
                       "writes into sharc's control block); job stopped",
                       js->kernel, js->mismatches);
  f->redo = 1;
  return 0;
}

