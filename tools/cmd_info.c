/* sharc info: describes a NumPy .npy file from its header alone, without
 * mapping it, and says whether sharc can map it in place (and why not). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sharc.h>

#include "cmd.h"

static const char usage_text[] =
    "usage: sharc info [-h] FILE.npy\n"
    "\n"
    "Reads the header of a NumPy .npy file and prints its dtype, shape,\n"
    "order, format version, data offset and size, and whether sharc can\n"
    "map it in place (and if not, why).\n"
    "\n"
    "options:\n"
    "  -h, --help  print this help and exit\n"
    "\n"
    "exit status: 0 described, 1 unreadable or malformed file, 2 usage "
    "error\n";

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "sharc info: %s%s (try 'sharc info --help')\n", what, arg);
  return 2;
}

static void print_shape(const sharc_npy_info *in) {
  fputc('(', stdout);
  for (int i = 0; i < in->ndim; i++)
    printf("%s%" PRIu64, i > 0 ? ", " : "", in->shape[i]);
  fputs(in->ndim == 1 ? ",)\n" : ")\n", stdout);
}

/* Elements: fits in 64 bits, the probe refused shapes that overflow. */
static uint64_t element_count(const sharc_npy_info *in) {
  uint64_t n = 1;
  for (int i = 0; i < in->ndim; i++)
    n *= in->shape[i];
  return n;
}

static void print_info(const char *path, const sharc_npy_info *in,
                       const char *msg) {
  const char *name = in->mappable ? sharc_dtype_name(in->dtype) : NULL;
  uint64_t count = element_count(in);
  printf("file:        %s\n", path);
  printf("version:     %d.%d\n", in->version_major, in->version_minor);
  printf("dtype:       %s ('%s')\n", name != NULL ? name : "unsupported",
         in->descr);
  printf("shape:       ");
  print_shape(in);
  printf("order:       %s\n", in->fortran_order ? "Fortran" : "C");
  printf("elements:    %" PRIu64 "\n", count);
  printf("data offset: %" PRIu64 "\n", in->data_offset);
  /* The probe knows the size only of dtypes with a plain item size. */
  if (count > 0 && in->nbytes == 0)
    printf("byte size:   unknown\n");
  else
    printf("byte size:   %" PRIu64 "\n", in->nbytes);
  printf("file size:   %" PRIu64 "\n", in->file_size);
  if (in->mappable)
    printf("mappable:    yes\n");
  else
    printf("mappable:    no: %s: %s\n", sharc_strerror(in->why_not), msg);
}

int sharc_cmd_info(int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  /* Our own one-line messages, not getopt's; optind = 0 makes glibc start
   * afresh, as the tool's main may have run getopt on its own argv. */
  opterr = 0;
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage_text, stdout);
      return 0;
    }
    /* A long option is the whole word just consumed; a short one may sit
     * inside a bundle (-xh), so it is named by optopt. */
    const char *arg = argv[optind - 1];
    char opt[3] = {'-', (char)optopt, '\0'};
    return usage_error("unrecognized option ",
                       strncmp(arg, "--", 2) == 0 || optopt == 0 ? arg : opt);
  }
  if (argc - optind != 1)
    return usage_error(argc == optind ? "missing FILE.npy"
                                      : "expected one FILE.npy, got more",
                       "");
  const char *path = argv[optind];
  sharc_npy_info *info;
  char msg[512];
  int rc = sharc_npy_probe(path, &info, msg, sizeof msg);
  if (rc != 0) {
    fprintf(stderr, "sharc info: %s\n", msg);
    return 1;
  }
  print_info(path, info, msg);
  sharc_npy_info_free(info);
  return 0;
}
