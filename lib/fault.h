/* Internal: the bookkeeping of a job's fault policy. After each pass the
 * coordinator works out, worker by worker, which ranges failed (the worker
 * died, or its kernel returned an error) and which were never reached, and
 * turns them into the items of the next pass: failed ranges are split in
 * halves until they are one grain block, blocks that keep failing are
 * quarantined. Pure logic over what the slots say, so it is tested without
 * processes. */
#ifndef SHARC_LIB_FAULT_H
#define SHARC_LIB_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "cb.h"
#include "sharc/report.h"

typedef struct sharc__fitem {
  sharc__item it;
  unsigned fails; /* times this very block failed alone (one-block items) */
  int signal, code;
  int timed_out;
} sharc__fitem;

typedef struct sharc__faults {
  uint64_t n, grain, units; /* units: blocks of grain indices */
  uint64_t sgrain; /* failing ranges are narrowed down to blocks of this
                      many indices (grain unless a journal coarsened it) */
  unsigned nworkers;
  unsigned retries;
  int stop;            /* on_poison == SHARC_POISON_STOP */
  sharc__fitem *items; /* the pass being run (retry passes) */
  size_t nitems, capitems;
  sharc__fitem *next; /* what the next pass runs */
  size_t nnext, capnext;
  sharc_quarantined *q;
  size_t nq, capq;
  size_t nq_pass; /* q held this many before the pass being accounted */
  int redo; /* a claim was cut short: run the pass again */
  unsigned redos;
  int poisoned; /* stop policy: q[0] is the poison */
  int nomem;
} sharc__faults;

/* What one worker's slot says about one pass. */
typedef struct sharc__wstate {
  unsigned worker;
  int started;   /* it began this pass */
  int died;      /* it died during the pass */
  int claiming;  /* it died between a claim and recording what it took */
  int signal;    /* what killed it, or 0 */
  int timed_out; /* it was killed for running too long */
  int recycled;  /* it exited to be recycled after finishing its range */
  int cur_done;  /* its last range completed (it is in the slot's tally) */
  int corrupt;   /* it wrote nonsense into its slot and was killed */
  int code;      /* what its kernel returned, or 0 */
  uint64_t cur_begin, cur_end; /* its last range, as the slot says */
} sharc__wstate;

void sharc__faults_init(sharc__faults *f, uint64_t n, uint64_t grain,
                        unsigned nworkers, unsigned retries, int stop);
void sharc__faults_free(sharc__faults *f);

/* The first pass ran schedule (kind, chunk); account for worker s. Only
 * workers that died or failed need to be given. */
void sharc__faults_first(sharc__faults *f, uint32_t kind, uint64_t chunk,
                         const sharc__wstate *s);
/* Indices [b, e) that no worker claimed (every worker died): the next pass
 * runs them. */
void sharc__faults_unclaimed(sharc__faults *f, uint64_t b, uint64_t e);
/* Item k of the current pass was never claimed: the next pass runs it as
 * it is. */
void sharc__faults_requeue(sharc__faults *f, size_t k);
/* A retry pass ran f->items; account for worker s. */
void sharc__faults_retry(sharc__faults *f, const sharc__wstate *s);
/* Ends a pass: the next pass's items become current (a pass cut short by a
 * death during a claim is run again whole). Returns the number of items the
 * next pass runs (0: the job is done). */
size_t sharc__faults_advance(sharc__faults *f, int first);

#endif
