/* Internal: the control block, one shared mapping per pool.
 *
 * Layout is versioned; the coordinator reads it as untrusted input (a broken
 * kernel may scribble on it), so every value it takes from here is
 * bounds-checked in job.c before use. Hot, contended words each have a
 * cache-line pair of their own; each worker's slot is written by that
 * worker alone. */
#ifndef SHARC_LIB_CB_H
#define SHARC_LIB_CB_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "sharc/job.h"
#include "sharc/kernel.h"
#include "reduce_int.h"
#include "tally.h"

#define SHARC__CB_MAGIC UINT64_C(0x3142434352414853) /* "SHARCCB1" */
#define SHARC__CB_VERSION 3u
/* Two cache lines: adjacent-line prefetch makes 64-byte padding leak. */
#define SHARC__PAD 128
/* The job descriptor has pages of its own, mapped read-only in workers. */
#define SHARC__PAGE 4096

/* The job as the coordinator posted it. Workers only read it. */
/* A retry pass runs items instead of a schedule: item k stands for the
 * ranges [begin + i stride, min(end + i stride, n)) for i < count, run in
 * that order by the worker that claims k. */
#define SHARC__SCHED_ITEMS 100u
/* A worker that recycles itself exits with this status. */
#define SHARC__EXIT_RECYCLE 75
/* A worker whose init hook failed exits with this one (code in slot err). */
#define SHARC__EXIT_INIT 76
typedef struct sharc__item {
  uint64_t begin, end, stride, count;
} sharc__item;

/* One chunk in the trace buffer. */
typedef struct sharc__trace_rec {
  uint64_t start_ns, end_ns; /* since the job was posted */
  uint64_t begin, end;
  int64_t victim;            /* -1: not stolen */
  uint64_t search_ns;
} sharc__trace_rec;

typedef struct sharc__job_desc {
  char kernel[SHARC_KERNEL_NAME_MAX];
  uint64_t n;
  uint64_t chunk;
  uint64_t grain;   /* chunk boundaries are multiples of it (>= 1) */
  uint64_t post_ns; /* CLOCK_MONOTONIC when posted: shared by all processes */
  uint32_t sched_kind;
  uint32_t nworkers;
  uint32_t narrays;
  uint32_t array_ids[SHARC_MAX_JOB_ARRAYS];
  uint32_t args_len;
  uint32_t measure_rusage;
  uint32_t mail; /* 1: messages wait on the workers' sockets */
  uint32_t watch;     /* 1: publish chunk start times and medians */
  uint32_t retrying;  /* 1: mark claims in progress (fault policy) */
  uint64_t recycle_chunks; /* fault policy: see sharc_fault_policy */
  uint64_t recycle_rss;
  uint32_t journal_id;    /* the journal bitmap's array id, 0: none */
  uint64_t journal_block; /* indices per bit */
  uint64_t journal_words; /* 64-bit words in the bitmap */
  uint32_t items_id;  /* retry passes: the items' array id */
  uint64_t nitems;    /* retry passes: how many items */
  uint32_t trace_id;  /* the trace buffer's array id, 0: no trace */
  uint64_t trace_cap; /* records per worker in it */
  /* A part of a larger index space (subrange.c): the kernel sees index
   * base + i for the job's index i, and sharc_task_n() says global_n.
   * Claims, slots and tallies stay in the job's own indices [0, n).
   * Both 0 for an ordinary job. */
  uint64_t base;
  uint64_t global_n;
  sharc__reduce_desc reduce; /* the job's reductions (reduce.c) */
  alignas(16) unsigned char args[SHARC_MAX_ARGS]; /* any struct fits */
} sharc__job_desc;

/* What one worker reports; written only by that worker. done_seq has a
 * line of its own: the coordinator reads it while the worker still writes
 * its current range. */
typedef struct sharc__slot {
  alignas(SHARC__PAD) _Atomic uint32_t done_seq; /* last job it finished */
  _Atomic uint32_t ready;                        /* 1 once started */
  int32_t pid;
  alignas(SHARC__PAD) int32_t err; /* 0, or what the kernel returned */
  uint64_t chunks;
  uint64_t indices;
  uint64_t wake_ns;   /* from post to this worker's start */
  uint64_t claim_ns;  /* claiming chunks */
  uint64_t busy_ns;   /* inside the kernel */
  uint64_t end_ns;    /* from post to this worker's finish */
  uint64_t cpu_ns;
  uint64_t peak_rss;
  uint64_t private_bytes;
  uint64_t cur_begin; /* the range being processed: names the range when */
  uint64_t cur_end;   /* the worker dies or fails */
  _Atomic uint32_t claiming; /* 1 from just before a claim until cur_* name
                                what it took: a death then leaves it unknown */
  uint32_t started_seq;      /* the job this worker last began */
  _Atomic uint64_t chunk_start_ns; /* watched jobs: when the running chunk
                                      began (CLOCK_MONOTONIC), 0 between */
  _Atomic uint64_t chunk_median_ns; /* watched jobs: running median of its
                                       chunk times, 0 until one ended */
  uint32_t recycled;   /* 1: it exited to be recycled, not from a fault */
  uint32_t bus_seen;   /* 1: it took SIGBUS inside an array's mapping */
  uint32_t bus_array;  /* that array's id */
  uint64_t bus_offset; /* the byte of the mapping it touched */
  uint32_t ro_seen;    /* 1: it wrote into memory mapped read-only for */
  uint32_t ro_what;    /* workers: 1 the job descriptor, 2 an array */
  uint32_t ro_array;   /* that array's id */
  sharc__tally tally;  /* the ranges its kernel completed (tally.h) */
  uint32_t cur_done;   /* 1: [cur_begin, cur_end) completed and is in tally */
  uint64_t steals;    /* ranges taken from other workers (auto) */
  uint64_t traced;    /* chunks this worker recorded in the trace buffer */
  _Atomic uint64_t cost_bits; /* wf: this worker's measured ns per index,
                                 a double's bits; 0 until measured */
} sharc__slot;

/* auto: the unclaimed part of a worker's range, begin << 32 | end in the
 * job's blocks. The owner claims from the front (fetch-and-add, or
 * compare-and-swap near the end) and thieves from the back
 * (compare-and-swap), so it has a line of its own. */
typedef struct sharc__range {
  alignas(SHARC__PAD) _Atomic uint64_t word;
} sharc__range;

typedef struct sharc__cb {
  uint64_t magic;
  uint32_t version;
  uint32_t nslots;
  uint64_t size;
  alignas(SHARC__PAD) _Atomic uint32_t seq; /* futex word: job sequence */
  _Atomic uint32_t shutdown;
  _Atomic uint32_t cancel; /* 1: stop claiming (sharc_pool_cancel) */
  _Atomic uint32_t sleepers; /* workers in (or entering) FUTEX_WAIT */
  alignas(SHARC__PAD) _Atomic uint64_t next; /* the shared claim counter */
  alignas(SHARC__PAD) _Atomic uint32_t coord_waiting; /* 1: it sleeps */
  /* 1: the coordinator wants to hear of completed blocks of a job that
   * keeps a done map (a stream): the next worker to mark one clears it
   * and writes the eventfd, so a wake-up costs one system call however
   * many chunks end. */
  _Atomic uint32_t progress_wanted;
  /* Written by the coordinator only; workers map these pages read-only, so
   * a kernel cannot change what later chunks compute. */
  alignas(SHARC__PAGE) sharc__job_desc job;
  alignas(SHARC__PAGE) sharc__slot slots[];
} sharc__cb;

/* The slots are followed by one range word per worker. nslots must come
 * from the coordinator's own records, never from the block itself. */
static inline uint64_t sharc__cb_size(unsigned nslots) {
  return sizeof(sharc__cb) +
         (uint64_t)nslots * (sizeof(sharc__slot) + sizeof(sharc__range));
}

static inline sharc__range *sharc__cb_ranges(sharc__cb *cb, unsigned nslots) {
  return (sharc__range *)(void *)(cb->slots + nslots);
}

#endif
