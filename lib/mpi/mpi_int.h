/* Internal to libsharc_mpi: the report's strings (report.c). */
#ifndef SHARC_LIB_MPI_INT_H
#define SHARC_LIB_MPI_INT_H

/* "" for a report's string with nothing to say: never freed. */
extern const char sharc__mpi_empty[];
/* Sets one of a report's strings to a copy of s (the old one freed); ""
 * when s is empty or there is no memory for the copy. */
void sharc__mpi_text(const char **field, const char *s);

#endif
