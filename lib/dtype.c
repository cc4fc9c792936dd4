/* dtypes: sizes, names and parsing. */
#include <string.h>
#include <stdlib.h>

#include "sharc/array.h"
#include "sharc/error.h"

static const struct {
  const char *name;
  char kind;
  size_t size;
} dtypes[SHARC_DTYPE_COUNT] = {
#define SHARC__DT_ROW(e, name, kind, size) {name, kind, size},
    SHARC_DTYPE_MAP(SHARC__DT_ROW)
#undef SHARC__DT_ROW
};

static int valid(sharc_dtype dt) {
  return (int)dt >= 0 && dt < SHARC_DTYPE_COUNT;
}

size_t sharc_dtype_size(sharc_dtype dt) { return valid(dt) ? dtypes[dt].size : 0; }

const char *sharc_dtype_name(sharc_dtype dt) {
  return valid(dt) ? dtypes[dt].name : NULL;
}

int sharc_dtype_parse(const char *name, sharc_dtype *out) {
  if (name == NULL || out == NULL)
    return SHARC_EINVAL;
  for (int i = 0; i < SHARC_DTYPE_COUNT; i++) {
    if (strcmp(name, dtypes[i].name) == 0) {
      *out = (sharc_dtype)i;
      return 0;
    }
  }
  /* Short NumPy codes: "f8", "i4", "u1", "c16", "b1", "?". */
  if (strcmp(name, "?") == 0) {
    *out = SHARC_BOOL;
    return 0;
  }
  char kind = name[0];
  if (kind == '\0' || name[1] < '1' || name[1] > '9')
    return SHARC_EDTYPE;
  char *end = NULL;
  unsigned long size = strtoul(name + 1, &end, 10);
  if (*end != '\0')
    return SHARC_EDTYPE;
  for (int i = 0; i < SHARC_DTYPE_COUNT; i++) {
    if (dtypes[i].kind == kind && dtypes[i].size == size) {
      *out = (sharc_dtype)i;
      return 0;
    }
  }
  return SHARC_EDTYPE;
}
