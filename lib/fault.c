/* Fault policy bookkeeping: failed and unreached ranges become the next
 * pass's items; failing blocks are narrowed by bisection and quarantined. */
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "fault.h"

void sharc__faults_init(sharc__faults *f, uint64_t n, uint64_t grain,
                        unsigned nworkers, unsigned retries, int stop) {
  memset(f, 0, sizeof *f);
  f->n = n;
  f->grain = grain > 1 ? grain : 1;
  f->units = n / f->grain + (n % f->grain != 0);
  f->sgrain = f->grain;
  f->nworkers = nworkers ? nworkers : 1;
  f->retries = retries;
  f->stop = stop;
}

void sharc__faults_free(sharc__faults *f) {
  free(f->items);
  free(f->next);
  free(f->q);
  memset(f, 0, sizeof *f);
}

static void push(sharc__faults *f, sharc__fitem fi) {
  if (fi.it.count == 0 || fi.it.begin >= fi.it.end || fi.it.begin >= f->n)
    return;
  if (f->nnext == f->capnext) {
    size_t cap = f->capnext ? 2 * f->capnext : 16;
    sharc__fitem *p = realloc(f->next, cap * sizeof *p);
    if (p == NULL) {
      f->nomem = 1;
      return;
    }
    f->next = p;
    f->capnext = cap;
  }
  f->next[f->nnext++] = fi;
}

static sharc__fitem range_item(uint64_t b, uint64_t e) {
  return (sharc__fitem){{b, e, 0, 1}, 0, 0, 0, 0};
}

/* Work that did not fail but was not done: in up to 4W pieces so that the
 * next pass runs them in parallel, each piece a run of chunks of about a
 * sixteenth of it (recycling and cancelling act between chunks; a failure
 * names one chunk, not the piece). */
static void push_lost(sharc__faults *f, uint64_t b, uint64_t e) {
  if (e > f->n)
    e = f->n;
  if (b >= e)
    return;
  uint64_t g = f->grain;
  uint64_t blocks = (e - b) / g + ((e - b) % g != 0);
  uint64_t pieces = 4 * (uint64_t)f->nworkers;
  if (pieces > blocks)
    pieces = blocks;
  uint64_t per = (blocks / pieces + (blocks % pieces != 0)) * g;
  for (uint64_t pb = b; pb < e; pb += per) {
    uint64_t pe = e - pb > per ? pb + per : e;
    uint64_t pblocks = (pe - pb) / g;
    uint64_t c = (pblocks / 16 > 1 ? pblocks / 16 : 1) * g;
    uint64_t full = (pe - pb) / c;
    if (full > 0)
      push(f, (sharc__fitem){{pb, pb + c, c, full}, 0, 0, 0, 0});
    if (pb + full * c < pe)
      push(f, range_item(pb + full * c, pe));
  }
}

static void quarantine(sharc__faults *f, uint64_t b, uint64_t e, unsigned fails,
                       int signal, int code, int timed_out) {
  if (f->nq == f->capq) {
    size_t cap = f->capq ? 2 * f->capq : 8;
    sharc_quarantined *p = realloc(f->q, cap * sizeof *p);
    if (p == NULL) {
      f->nomem = 1;
      return;
    }
    f->q = p;
    f->capq = cap;
  }
  f->q[f->nq++] = (sharc_quarantined){b, e, signal, code, fails, timed_out};
  if (f->stop)
    f->poisoned = 1;
}

/* A range whose chunk ran past its timeout: halving it would cost a
 * timeout per pass. Its blocks run next as chunks of one block each, spread
 * over up to 4W items, so that only the block that hangs times out again:
 * one more timeout in all. */
static void timed_out_singles(sharc__faults *f, uint64_t b, uint64_t e,
                              uint64_t blocks, const sharc__wstate *s) {
  uint64_t g = f->sgrain, pieces = 4 * (uint64_t)f->nworkers;
  if (pieces > blocks)
    pieces = blocks;
  uint64_t per = blocks / pieces + (blocks % pieces != 0);
  for (uint64_t k = 0; k < blocks; k += per) {
    uint64_t cnt = blocks - k < per ? blocks - k : per;
    uint64_t pb = b + k * g;
    uint64_t pe = e - pb < g ? e : pb + g;
    sharc__fitem it = {{pb, pe, g, cnt}, 0, s->signal, s->code, 1};
    push(f, it);
  }
}

/* A range that failed: split it, retry its one block, or give up on it.
 * fails: how often this very block failed alone before. */
static void failed(sharc__faults *f, uint64_t b, uint64_t e, unsigned fails,
                   const sharc__wstate *s) {
  int signal = s->signal, code = s->code;
  if (e > f->n)
    e = f->n;
  if (b >= e)
    return;
  uint64_t g = f->sgrain;
  uint64_t blocks = (e - b) / g + ((e - b) % g != 0);
  if (blocks > 1 && s->timed_out) {
    timed_out_singles(f, b, e, blocks, s);
    return;
  }
  if (blocks > 1) {
    uint64_t m = b + blocks / 2 * g;
    sharc__fitem lo = range_item(b, m), hi = range_item(m, e);
    lo.signal = hi.signal = signal;
    lo.code = hi.code = code;
    lo.timed_out = hi.timed_out = s->timed_out;
    push(f, lo);
    push(f, hi);
    return;
  }
  if (fails + 1 > f->retries) {
    quarantine(f, b, e, fails + 1, signal, code, s->timed_out);
    return;
  }
  sharc__fitem one = range_item(b, e);
  one.fails = fails + 1;
  one.signal = signal;
  one.code = code;
  one.timed_out = s->timed_out;
  push(f, one);
}

/* A schedule whose chunks belong to their workers (static): the ranges of
 * worker w that it never reached, after the chunk [cur_begin, cur_end) (or
 * all of them if it ran none), as its unit works them out. Returns 0 if
 * the slot's range is not one of w's chunks. */
static int owned_rest(sharc__faults *f, uint64_t chunk, const sharc__wstate *s,
                      int ran) {
  uint64_t g = f->grain;
  if (ran && s->cur_begin % g != 0)
    return 0;
  sharc__static_left left;
  if (!sharc__static_rest(f->units, chunk, f->nworkers, s->worker, ran,
                          s->cur_begin / g, &left))
    return 0;
  if (left.count == 0)
    return 1;
  if (chunk == 0) { /* one block: in pieces, so the next pass shares it */
    push_lost(f, left.begin * g, left.end * g);
    return 1;
  }
  sharc__fitem rest = {
      {left.begin * g, left.end * g, left.stride * g, left.count}, 0, 0, 0, 0};
  push(f, rest);
  return 1;
}

void sharc__faults_first(sharc__faults *f, uint32_t kind, uint64_t chunk,
                         const sharc__wstate *s) {
  if (s->corrupt) { /* nothing its slot says can be believed */
    f->redo = 1;
    return;
  }
  int owned = (sharc__sched_flags(kind) & SHARC__SCHED_OWNED) != 0;
  int sane = s->cur_begin < s->cur_end && s->cur_end <= f->n;
  /* Shared schedules: a claim cut short took something nobody recorded. */
  if (s->died && s->claiming && !owned && s->started) {
    f->redo = 1;
    return;
  }
  int ran = s->started && sane;
  if (ran && !s->recycled && !s->cur_done)
    failed(f, s->cur_begin, s->cur_end, 0, s);
  if (owned && (s->started || s->died) && !owned_rest(f, chunk, s, ran))
    f->redo = 1; /* the slot names a range that is not this worker's */
}

void sharc__faults_unclaimed(sharc__faults *f, uint64_t b, uint64_t e) {
  push_lost(f, b, e);
}

void sharc__faults_requeue(sharc__faults *f, size_t k) {
  if (k < f->nitems)
    push(f, f->items[k]);
}

/* The item of the current pass holding the range that starts at b, and its
 * place in that item. */
static const sharc__fitem *find_item(const sharc__faults *f, uint64_t b,
                                     uint64_t *i) {
  for (size_t k = 0; k < f->nitems; k++) {
    const sharc__item *it = &f->items[k].it;
    if (b < it->begin)
      continue;
    uint64_t d = b - it->begin;
    uint64_t pos = it->stride ? d / it->stride : 0;
    if (pos < it->count && pos * it->stride == d) {
      *i = pos;
      return &f->items[k];
    }
  }
  return NULL;
}

void sharc__faults_retry(sharc__faults *f, const sharc__wstate *s) {
  if (s->corrupt || (s->died && s->claiming)) {
    f->redo = 1;
    return;
  }
  if (!s->started || !(s->cur_begin < s->cur_end && s->cur_end <= f->n))
    return;
  uint64_t i;
  const sharc__fitem *fi = find_item(f, s->cur_begin, &i);
  if (fi == NULL) {
    f->redo = 1;
    return;
  }
  /* A one-block item failing again carries its count on. */
  int same = fi->it.count == 1 && fi->it.end - fi->it.begin <= f->sgrain;
  if (!s->recycled && !s->cur_done)
    failed(f, s->cur_begin, s->cur_end, same ? fi->fails : 0, s);
  if (i + 1 < fi->it.count) {
    sharc__fitem rest = *fi;
    rest.it.begin += (i + 1) * fi->it.stride;
    rest.it.end += (i + 1) * fi->it.stride;
    rest.it.count -= i + 1;
    push(f, rest);
  }
}

/* The whole pass again: the first pass's index space in pieces, or the
 * retry pass's items as they were. */
static void redo_pass(sharc__faults *f, int first) {
  f->nnext = 0;
  if (!first) {
    for (size_t k = 0; k < f->nitems; k++)
      push(f, f->items[k]);
    return;
  }
  push_lost(f, 0, f->n);
}

size_t sharc__faults_advance(sharc__faults *f, int first) {
  if (f->redo && !f->poisoned) {
    f->redos++;
    f->nq = f->nq_pass; /* the pass runs again whole, its poison too */
    redo_pass(f, first);
  }
  f->redo = 0;
  sharc__fitem *t = f->items;
  size_t cap = f->capitems;
  f->items = f->next;
  f->nitems = f->nnext;
  f->capitems = f->capnext;
  f->next = t;
  f->capnext = cap;
  f->nnext = 0;
  return f->poisoned ? 0 : f->nitems;
}
