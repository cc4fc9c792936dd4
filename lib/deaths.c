/* A worker that died while a job ran: how it died, what it held, and its
 * replacement, at once (joining the pass) or after the pass. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_int.h"

/* Under a fault policy a worker that died or exited to be recycled while
 * a pass runs on a shared schedule (retry items, or a first pass other
 * than static, whose ranges belong to their workers) is replaced at once
 * by one that joins the pass: what it completed stays in the tally, the
 * range it failed (and, in a retry pass, the rest of its item) goes to the
 * next pass, and the pass goes on. So a pass is never cut short by deaths,
 * recycling never ends a pass, and a poison index costs one death per
 * pass. Deaths that leave unknown what a claim took are left to the end
 * of the pass (which then runs again). Returns 1 if the replacement
 * started. */
static int replace_now(sharc_pool *pool, job_state *js, unsigned w, int sig,
                       int recycled) {
  const sharc__slot *slot = &pool->cb->slots[w];
  sharc__faults *f = js->faults;
  if (js->ws == NULL || js->canceled || js->fatal_why[0] != '\0' ||
      js->sched_kind == SHARC_SCHED_STATIC || slot->started_seq != js->seq ||
      (!recycled && f->retries == 0))
    return 0;
  sharc__wstate st = {.worker = w,
                      .started = 1,
                      .died = 1,
                      .claiming = atomic_load(&slot->claiming) != 0,
                      .signal = sig,
                      .timed_out = js->watch != NULL && js->watch[w].timed_out,
                      .recycled = recycled,
                      .cur_done = slot->cur_done == 1,
                      .cur_begin = slot->cur_begin,
                      .cur_end = slot->cur_end};
  if (st.claiming)
    return 0;
  size_t nnext = f->nnext, nq = f->nq;
  int redo = f->redo;
  sharc__tally done = slot->tally; /* the replacement clears the slot */
  if (js->sched_kind == SHARC__SCHED_ITEMS)
    sharc__faults_retry(f, &st);
  else
    sharc__faults_first(f, js->sched_kind, js->chunk, &st);
  uint64_t t0 = sharc__now_ns();
  if (sharc__worker_join(pool, w, js->seq) != 0) {
    f->nnext = nnext; /* accounted after the pass like any other death */
    f->nq = nq;
    f->redo = redo;
    pool->msg[0] = '\0';
    return 0;
  }
  sharc__tally_sum(&js->harvest, &done);
  js->fr.replace_s += (double)(sharc__now_ns() - t0) * 1e-9; /* the report's */
  js->fr.replaced++;
  if (recycled)
    js->recycled_mid++;
  else
    js->deaths_mid++;
  if (js->watch != NULL)
    memset(&js->watch[w], 0, sizeof js->watch[w]);
  return 1;
}

/* How messages name array `id`: its file, its shared-memory name, or
 * what it is. */
static const char *array_named(sharc_pool *pool, uint32_t id) {
  sharc__arrays_lock(pool);
  const sharc_array *a = pool->arrays;
  while (a != NULL && a->id != id)
    a = a->next;
  /* An array of the job: the caller's to keep until the job is over. */
  const char *name = a == NULL          ? "an array"
                     : a == pool->items ? "the retry items"
                     : a->path != NULL  ? a->path
                     : a->name != NULL  ? a->name
                                        : "an anonymous array";
  sharc__arrays_unlock(pool);
  return name;
}

/* A worker died of a fault that is no property of its indices: how it died
 * (into why), remembered for collect(), which fails the job at once. Its
 * slot names it: SIGBUS inside an array's mapping (the file under it
 * shrank) or SIGSEGV on memory read-only in workers. Returns 0 if the death
 * was neither. */
static int fatal_death(sharc_pool *pool, job_state *js, unsigned w, pid_t pid,
                       int sig, const char *plain, char *why, size_t len) {
  const sharc__slot *slot = &pool->cb->slots[w];
  /* a very long path cuts the message, still naming the cause */
  if (sig == SIGBUS && slot->bus_seen)
    snprintf(why, len, "%s: input truncated: %s has no data at byte %llu "
                 "of its mapping (the file shrank while mapped)", plain,
                 array_named(pool, slot->bus_array),
                 (unsigned long long)slot->bus_offset);
  else if (sig == SIGSEGV && slot->ro_seen)
    snprintf(why, len, "%s: its kernel wrote into %s, which is read-only "
                 "in workers", plain,
                 slot->ro_what == 2 ? array_named(pool, slot->ro_array)
                                    : "the job descriptor");
  else
    return 0;
  if (js->fatal_why[0] == '\0')
    snprintf(js->fatal_why, sizeof js->fatal_why, "worker %u (pid %d) %s", w,
             (int)pid, why);
  return 1;
}

void sharc__record_death(job_state *js, unsigned w) {
  sharc_pool *pool = js->pool;
  sharc__slot *slot = &pool->cb->slots[w];
  uint64_t b = slot->cur_begin, e = slot->cur_end;
  char plain[128], why[320];
  pid_t pid = pool->w[w].pid;
  int sig = sharc__worker_reap(pool, w, plain, sizeof plain);
  if (!fatal_death(pool, js, w, pid, sig, plain, why, sizeof why))
    snprintf(why, sizeof why, "%s", plain);
  if (replace_now(pool, js, w, sig, sig == 0 && slot->recycled))
    return;
  if (js->watch != NULL && js->watch[w].timed_out) {
    snprintf(why, sizeof why, "ran one chunk longer than %.0f ms (timeout) "
             "and %s", (double)js->watch[w].limit * 1e-6, plain);
    if (js->ws != NULL)
      js->ws[w].timed_out = 1;
  }
  js->ndead++;
  if (js->ws != NULL) {
    js->ws[w].died = 1;
    js->ws[w].signal = sig;
    js->ws[w].recycled = sig == 0 && slot->recycled;
  }
  if (js->first_dead < 0) {
    js->first_dead = (int)w;
    snprintf(js->dead_why, sizeof js->dead_why, "(pid %d) %s", (int)pid, why);
    /* The range comes from the control block: believe it only if sane. */
    int sane = b <= e && e <= js->n;
    js->dead_range[0] = sane ? b : 0;
    js->dead_range[1] = sane ? e : 0;
  }
}

/* Starts a fresh worker in place of each dead one. A replacement that dies
 * while starting (something kills workers at random) is started again, for
 * up to SHARC__REPLACE_NS; a fork or similar failure gives up at once. */
#define SHARC__REPLACE_NS 5000000000u
void sharc__replace_dead(sharc_pool *pool) {
  uint64_t until = sharc__now_ns() + SHARC__REPLACE_NS;
  while (sharc__now_ns() < until) {
    unsigned started = 0, ok = 1;
    unsigned char *fresh = calloc(pool->nworkers, 1);
    if (fresh == NULL) {
      pool->broken = 1;
      return;
    }
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if (pool->w[w].pid > 0)
        continue;
      if (sharc__worker_start(pool, w) != 0) {
        free(fresh);
        pool->broken = 1;
        return;
      }
      fresh[w] = 1;
      started++;
    }
    /* Only the new workers' ready words are waited for: a live worker's
     * may have been scribbled on, and it is ready anyway. */
    for (unsigned w = 0; ok && w < pool->nworkers; w++) {
      if (fresh[w] && sharc__workers_wait_ready(pool, w, w + 1) != 0)
        ok = 0;
    }
    free(fresh);
    if (started == 0 || ok)
      return;
  }
  pool->broken = 1;
}
