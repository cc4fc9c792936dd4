/* Internal: a retry pass's claims. Not a schedule users choose: the fault
 * policy's passes run items (cb.h, sharc__item), each claimed whole by one
 * worker from the shared counter and run as its ranges in order. Indices,
 * not grain units. */
#ifndef SHARC_LIB_SCHED_ITEMS_H
#define SHARC_LIB_SCHED_ITEMS_H

#include "claim.h"

/* The next range of the item being run, or the first of the next item.
 * A range past n ends its item. */
static inline int sharc__items_claim(sharc__claim *c, uint64_t *b,
                                     uint64_t *e) {
  for (;;) {
    const sharc__item *it = &c->item;
    if (c->item_i < it->count) {
      uint64_t i = c->item_i++;
      uint64_t rb = it->begin + i * it->stride, re = it->end + i * it->stride;
      if (re > c->n)
        re = c->n;
      if (rb < re) {
        *b = rb;
        *e = re;
        return 1;
      }
      c->item_i = it->count;
    }
    uint64_t k = atomic_fetch_add_explicit(c->next, 1, memory_order_relaxed);
    if (k >= c->nitems)
      return 0;
    c->item = c->items[k];
    c->item_i = 0;
  }
}

#endif
