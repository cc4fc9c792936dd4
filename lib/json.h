/* Internal: a JSON string, for the reports of libsharc and libsharc_mpi
 * (header-only, so that libsharc_mpi needs no symbol of libsharc's that
 * users would see). */
#ifndef SHARC_LIB_JSON_H
#define SHARC_LIB_JSON_H

#include <stdio.h>

/* Writes s as a JSON string: kernel names and messages may hold anything,
 * so quotes, backslashes and control characters are escaped. */
static inline void sharc__json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

#endif
