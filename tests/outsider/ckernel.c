/* A kernel written in C, run from the Fortran test program by name. */
#include <sharc.h>

/* v[i] += i over a float64 array (index i from 0) */
static int add_index(const sharc_task *t, uint64_t begin, uint64_t end) {
  double *v = sharc_task_array(t, 0);
  for (uint64_t i = begin; i < end; i++)
    v[i] += (double)i;
  return 0;
}
SHARC_KERNEL(add_index)
