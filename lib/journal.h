/* Internal: the resume journal (journal.c). */
#ifndef SHARC_LIB_JOURNAL_H
#define SHARC_LIB_JOURNAL_H

#include "fault.h"
#include "internal.h"

typedef struct sharc__journal {
  int fd;
  const char *path;
  uint64_t n, block, nblocks, words;
  sharc_array *bits; /* shared with the workers: one bit per block */
  uint64_t last_flush_ns;
} sharc__journal;

/* Indices per journal block for n indices: n / 2^20 rounded up (at most
 * 2^20 bits, 128 KiB), a multiple of the grain. */
uint64_t sharc__journal_block(uint64_t n, uint64_t grain);
/* Creates the journal (or, with o->resume, reads and checks it) and the
 * shared bitmap. o->grain must already be the journal block. */
int sharc__journal_open(sharc_pool *pool, const sharc_job_opts *o,
                        const char *kernel, uint64_t n, sharc__journal *j);
/* A done map alone, for a job that reports its progress (handle.c): the
 * bitmap with the journal's blocks (grain must already be the block), no
 * file; flushing it writes nothing. */
int sharc__journal_map(sharc_pool *pool, uint64_t n, uint64_t grain,
                       sharc__journal *j);
/* Indices the bitmap marks done. */
uint64_t sharc__journal_done(const sharc__journal *j);
/* Adds the blocks not marked done to f as work for the next pass. */
void sharc__journal_missing(const sharc__journal *j, sharc__faults *f);
/* After a job that computed every index but the nq quarantined ranges q
 * (status 0 or SHARC_EQUARANTINED): marks every block that holds none of
 * them. Workers mark a block only when one chunk covered it whole, and
 * retries narrow failing ranges down finer than a block (n > 2^20), so a
 * block may have been completed in pieces that no bit records. Out of
 * memory, it marks nothing more (the journal then under-reports). */
void sharc__journal_complete(sharc__journal *j, const sharc_quarantined *q,
                             size_t nq);
/* Syncs the job's file-backed arrays, then writes the bitmap. */
int sharc__journal_flush(sharc_pool *pool, const sharc_job_opts *o,
                         sharc__journal *j);
void sharc__journal_close(sharc__journal *j);

#endif
