/* libsharc_mpi: the combined report of a job shared among ranks, and
 * sharing what each rank wrote into an output array (sharc/mpi.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sharc/mpi.h"
#include "../json.h"
#include "mpi_int.h"

const char sharc__mpi_empty[] = "";

static void text_free(const char *s) {
  if (s != NULL && s != sharc__mpi_empty)
    free((char *)s);
}

void sharc__mpi_text(const char **field, const char *s) {
  text_free(*field);
  char *d = s[0] != '\0' ? strdup(s) : NULL;
  *field = d != NULL ? d : sharc__mpi_empty; /* "" when out of memory */
}

void sharc_mpi_report_free(sharc_mpi_report *rep) {
  if (rep == NULL)
    return;
  free(rep->ranks);
  free(rep->part_ranges);
  free(rep->part_rank);
  text_free(rep->kernel);
  text_free(rep->error);
  size_t size = rep->size;
  memset(rep, 0, sizeof *rep);
  rep->size = size;
}

/* A report never filled has no strings yet. */
static const char *text(const char *s) { return s != NULL ? s : ""; }

int sharc_mpi_report_print(const sharc_mpi_report *rep, FILE *out) {
  if (rep == NULL || out == NULL)
    return SHARC_EINVAL;
  fprintf(out, "mpi job '%s': n=%llu ranks=%d workers=%u  %s\n", text(rep->kernel),
          (unsigned long long)rep->n, rep->nranks, rep->workers,
          rep->status ? sharc_err_name(rep->status) : "ok");
  if (rep->status)
    fprintf(out, "  error: %s\n", text(rep->error));
  if (rep->ranks != NULL) {
    fprintf(out, "  %5s %7s %12s %7s %10s %10s %10s %10s %10s\n", "rank",
            "workers", "indices", "parts", "chunks", "busy_ms", "run_ms",
            "claim_ms", "finish_ms");
    for (int k = 0; k < rep->nranks; k++) {
      const sharc_mpi_rank_report *r = &rep->ranks[k];
      fprintf(out, "  %5d %7u %12llu %7llu %10llu %10.3f %10.3f %10.3f %10.3f\n",
              r->rank, r->workers, (unsigned long long)r->indices,
              (unsigned long long)r->parts, (unsigned long long)r->chunks,
              r->busy_s * 1e3, r->run_s * 1e3, r->claim_s * 1e3,
              r->finish_s * 1e3);
    }
  }
  fprintf(out,
          "  wall %.3f ms | combine %.3f ms | indices %llu | super-chunks "
          "%llu of %llu-index units | imbalance %.1f%% (finish times)\n",
          rep->wall_s * 1e3, rep->combine_s * 1e3,
          (unsigned long long)rep->indices, (unsigned long long)rep->parts,
          (unsigned long long)rep->block, rep->imbalance_pct);
  return ferror(out) ? -EIO : 0;
}

int sharc_mpi_report_json(const sharc_mpi_report *rep, FILE *out) {
  if (rep == NULL || out == NULL)
    return SHARC_EINVAL;
  fprintf(out, "{\"kernel\":");
  sharc__json_str(out, text(rep->kernel));
  fprintf(out, ",\"n\":%llu,\"status\":", (unsigned long long)rep->n);
  sharc__json_str(out, rep->status ? sharc_err_name(rep->status) : "ok");
  fprintf(out, ",\"error\":");
  sharc__json_str(out, text(rep->error));
  fprintf(out,
          ",\"nranks\":%d,\"workers\":%u,\"indices\":%llu,\"parts\":%llu,"
          "\"block\":%llu,\"wall_s\":%.9f,\"combine_s\":%.9f,"
          "\"imbalance_pct\":%.3f,\"ranks\":[",
          rep->nranks, rep->workers, (unsigned long long)rep->indices,
          (unsigned long long)rep->parts, (unsigned long long)rep->block,
          rep->wall_s, rep->combine_s, rep->imbalance_pct);
  for (int k = 0; rep->ranks != NULL && k < rep->nranks; k++) {
    const sharc_mpi_rank_report *r = &rep->ranks[k];
    fprintf(out,
            "%s{\"rank\":%d,\"workers\":%u,\"indices\":%llu,\"parts\":%llu,"
            "\"chunks\":%llu,\"busy_s\":%.9f,\"run_s\":%.9f,\"claim_s\":%.9f,"
            "\"finish_s\":%.9f}",
            k ? "," : "", r->rank, r->workers, (unsigned long long)r->indices,
            (unsigned long long)r->parts, (unsigned long long)r->chunks,
            r->busy_s, r->run_s, r->claim_s, r->finish_s);
  }
  fprintf(out, "]}");
  return ferror(out) ? -EIO : 0;
}

/* Bytes of rank k's parts in a, at `per` bytes per index. */
static size_t rank_bytes(const sharc_mpi_report *rep, int k, size_t per) {
  size_t sum = 0;
  for (uint64_t j = 0; j < rep->parts; j++)
    if (rep->part_rank[j] == k)
      sum += (size_t)(rep->part_ranges[j][1] - rep->part_ranges[j][0]) * per;
  return sum;
}

int sharc_mpi_allgather_array(const sharc_mpi_report *rep, sharc_array *a,
                              const sharc_mpi_opts *mo) {
  MPI_Comm comm = mo != NULL && mo->size == sizeof *mo &&
                          mo->comm != MPI_COMM_NULL
                      ? mo->comm
                      : MPI_COMM_WORLD;
  if (rep == NULL || a == NULL || rep->n == 0 || rep->status != 0 ||
      (rep->parts > 0 && (rep->part_ranges == NULL || rep->part_rank == NULL)))
    return SHARC_EINVAL;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  uint64_t nbytes = sharc_array_nbytes(a);
  if (size != rep->nranks || nbytes % rep->n != 0)
    return SHARC_EINVAL;
  size_t per = (size_t)(nbytes / rep->n);
  unsigned char *data = sharc_array_data(a);
  int *counts = malloc((size_t)size * sizeof *counts);
  int *displs = malloc((size_t)size * sizeof *displs);
  size_t total = 0;
  int rc = counts != NULL && displs != NULL ? 0 : SHARC_ENOMEM;
  for (int k = 0; rc == 0 && k < size; k++) {
    size_t b = rank_bytes(rep, k, per);
    if (b > (size_t)INT32_MAX || total > (size_t)INT32_MAX)
      rc = SHARC_EINVAL; /* the same verdict on every rank */
    else {
      counts[k] = (int)b;
      displs[k] = (int)total;
      total += b;
    }
  }
  unsigned char *recv = rc == 0 ? malloc(total > 0 ? total : 1) : NULL;
  unsigned char *send =
      rc == 0 ? malloc(counts[rank] > 0 ? (size_t)counts[rank] : 1) : NULL;
  if (rc == 0 && (recv == NULL || send == NULL))
    MPI_Abort(comm, 1); /* the other ranks are about to wait for this one */
  if (rc == 0) {
    size_t off = 0;
    for (uint64_t j = 0; j < rep->parts; j++) {
      if (rep->part_rank[j] != rank)
        continue;
      size_t len = (size_t)(rep->part_ranges[j][1] - rep->part_ranges[j][0]) * per;
      memcpy(send + off, data + rep->part_ranges[j][0] * per, len);
      off += len;
    }
    if (MPI_Allgatherv(send, counts[rank], MPI_BYTE, recv, counts, displs,
                       MPI_BYTE, comm) != MPI_SUCCESS)
      rc = SHARC_EIO;
  }
  for (int k = 0; rc == 0 && k < size; k++) {
    size_t off = (size_t)displs[k];
    for (uint64_t j = 0; j < rep->parts; j++) {
      if (rep->part_rank[j] != k)
        continue;
      size_t len = (size_t)(rep->part_ranges[j][1] - rep->part_ranges[j][0]) * per;
      memcpy(data + rep->part_ranges[j][0] * per, recv + off, len);
      off += len;
    }
  }
  free(send);
  free(recv);
  free(counts);
  free(displs);
  return rc;
}
