/* Schedules: their names and text form, and the calls into each unit that
 * are not on the hot path, all derived from the table in sched_table.h.
 * How each schedule claims is in its unit, lib/sched_<name>.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "sharc/error.h"

const char *const sharc__sched_names[] = {
#define SHARC__X(K, name, flags) [SHARC_SCHED_##K] = #name,
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
        NULL};
#define NKINDS (sizeof sharc__sched_names / sizeof sharc__sched_names[0] - 1)

int sharc_schedule_parse(const char *text, sharc_schedule *out) {
  if (text == NULL || out == NULL)
    return SHARC_EINVAL;
  const char *colon = strchr(text, ':');
  size_t len = colon ? (size_t)(colon - text) : strlen(text);
  for (unsigned k = 0; k < NKINDS; k++) {
    const char *name = sharc__sched_names[k];
    if (name == NULL || strlen(name) != len || strncmp(text, name, len) != 0)
      continue;
    int blocks = (sharc__sched_flags(k) & SHARC__SCHED_BLOCKS) != 0;
    sharc_schedule s = {(sharc_sched_kind)k, blocks ? 0 : 1};
    if (colon != NULL) {
      char *end = NULL;
      if (colon[1] < '1' || colon[1] > '9')
        return SHARC_EINVAL;
      unsigned long long v = strtoull(colon + 1, &end, 10);
      if (*end != '\0' || v == 0 || v == ~0ull)
        return SHARC_EINVAL;
      s.chunk = v;
    }
    *out = s;
    return 0;
  }
  return SHARC_EINVAL;
}

int sharc_schedule_format(sharc_schedule s, char *buf, size_t len) {
  if (!sharc__sched_known((uint32_t)s.kind))
    return snprintf(buf, len, "invalid");
  unsigned flags = sharc__sched_flags((uint32_t)s.kind);
  const char *name = sharc__sched_names[s.kind];
  if ((flags & SHARC__SCHED_BLOCKS) && s.chunk == 0)
    return snprintf(buf, len, "%s", name);
  /* Schedules that size their own chunks: a smallest chunk of 1 is no
   * choice at all. */
  if ((flags & SHARC__SCHED_SIZES) && s.chunk <= 1)
    return snprintf(buf, len, "%s", name);
  return snprintf(buf, len, "%s:%llu", name,
                  (unsigned long long)(s.chunk ? s.chunk : 1));
}

void sharc__claim_init(sharc__claim *c, uint32_t kind, uint64_t n,
                       uint64_t chunk, unsigned worker, unsigned nworkers,
                       const sharc__claim_ctx *ctx) {
  memset(c, 0, offsetof(sharc__claim, bstart));
  c->kind = kind;
  c->n = n;
  c->chunk = chunk;
  c->worker = worker;
  c->nworkers = nworkers ? nworkers : 1;
  c->next = ctx->next;
  c->ranges = ctx->ranges;
  c->slots = ctx->slots;
  c->place = ctx->place;
  c->items = ctx->items;
  c->nitems = ctx->nitems;
  c->victim = -1;
  c->weight = 1.0;
  c->every = 1;
  switch (kind) {
#define SHARC__X(K, name, flags)                                               \
  case SHARC_SCHED_##K:                                                        \
    sharc__##name##_setup(c);                                                  \
    break;
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  default:
    break; /* retry items need nothing more */
  }
}

void sharc__sched_post(uint32_t kind, sharc__range *ranges, sharc__slot *slots,
                       unsigned nworkers, uint64_t units) {
  switch (kind) {
#define SHARC__X(K, name, flags)                                               \
  case SHARC_SCHED_##K:                                                        \
    sharc__##name##_post(ranges, slots, nworkers, units);                      \
    break;
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  default:
    break;
  }
}

void sharc__sched_unclaimed(uint32_t kind, const sharc__sched_end *s,
                            sharc__unclaimed_fn *emit, void *arg) {
  switch (kind) {
#define SHARC__X(K, name, flags)                                               \
  case SHARC_SCHED_##K:                                                        \
    sharc__##name##_unclaimed(s, emit, arg);                                   \
    break;
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  default:
    break;
  }
}
