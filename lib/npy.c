/* NumPy .npy headers: reading them with pread, validating them strictly,
 * and writing them exactly as NumPy does.
 *
 * The header is a Python dict literal. It is parsed by a small grammar of
 * its own (strings, True/False, tuples of integers, and for structured
 * dtypes nested lists and tuples), never evaluated, and every byte index is
 * bounds-checked: the parser is mutation-tested by tests/test_npy.c and
 * fuzzed by tests/fuzz/fuzz_npy.c (through sharc__npy_parse_mem). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "paths.h"
#include "sharc/error.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
/* NumPy itself refuses headers over 10000 bytes unless told otherwise; a
 * larger cap still stops a lying length from costing a huge allocation. */
#define HEADER_MAX ((uint32_t)1 << 20)
/* NumPy starts the payload on a 64-byte boundary so that any dtype is
 * aligned in a mapping. */
#define ALIGN 64
/* NumPy leaves room after the dict so the growing axis's extent can be
 * rewritten in place (NumPy >= 1.24, GROWTH_AXIS_MAX_DIGITS). */
#define GROWTH_DIGITS 21
/* Structured descrs nest; the recursion that skips them must not let a
 * header of brackets exhaust the stack. */
#define DEPTH_MAX 32
/* The longest dict we write: 51 fixed bytes, 64 extents of 20 digits and
 * ", " each, the closing ") }" and the growth padding. */
#define DICT_MAX 2048

/* Shapes and sizes must fit NumPy's npy_intp and our int64 strides. */
#define SIZE_MAX63 ((uint64_t)INT64_MAX)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NATIVE_ORDER '>'
#define FOREIGN_ORDER '<'
#define NATIVE_NAME "big-endian"
#define FOREIGN_NAME "little-endian"
#else
#define NATIVE_ORDER '<'
#define FOREIGN_ORDER '>'
#define NATIVE_NAME "little-endian"
#define FOREIGN_NAME "big-endian"
#endif

/* --- messages ------------------------------------------------------------ */

/* Where messages go: every one starts with the file's path. */
typedef struct report {
  const char *path;
  char *msg;
  size_t msglen;
} report;

static void vsay(const report *r, const char *fmt, va_list ap) {
  if (r->msg == NULL || r->msglen == 0)
    return;
  int n = snprintf(r->msg, r->msglen, "%s: ", r->path);
  if (n < 0 || (size_t)n >= r->msglen)
    return;
  vsnprintf(r->msg + n, r->msglen - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 2, 3))) static void say(const report *r,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(r, fmt, ap);
  va_end(ap);
}

__attribute__((format(printf, 3, 4))) static int fail(const report *r, int code,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(r, fmt, ap);
  va_end(ap);
  return code;
}

/* Bytes from the file, made safe to print on one line. */
typedef struct slice {
  const unsigned char *p;
  size_t len;
} slice;

static void printable(char *out, size_t outlen, slice s) {
  size_t n = 0;
  for (size_t i = 0; i < s.len && n + 4 < outlen; i++) {
    unsigned char c = s.p[i];
    out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  if (n < s.len && outlen >= 4) {
    n = n > outlen - 4 ? outlen - 4 : n;
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
}

static int slice_is(slice s, const char *lit) {
  return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* --- reading the bytes --------------------------------------------------- */

/* Where the bytes come from: an open file (read with pread, never through a
 * mapping, so a short file cannot raise SIGBUS) or a buffer in memory (the
 * fuzzer's input). Both go through the same checks; size is what the file's
 * fstat or the buffer's length says. */
typedef struct source {
  int fd;                   /* -1 for memory */
  const unsigned char *mem; /* the whole "file" when fd < 0 */
  uint64_t size;
} source;

/* Reads len bytes at off, or fails: negated errno for I/O, EFORMAT when
 * the file ends early (it shrank since fstat, or a buffer is too short). */
static int read_full(const source *src, void *buf, size_t len, uint64_t off,
                     const report *r) {
  if (src->fd < 0) {
    if (off > src->size || len > src->size - off)
      return fail(r, SHARC_EFORMAT, "file ends at byte %llu while reading",
                  (unsigned long long)src->size);
    if (len > 0)
      memcpy(buf, src->mem + off, len);
    return 0;
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n =
        pread(src->fd, (char *)buf + got, len - got, (off_t)(off + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(r, -errno, "read failed: %s", strerror(errno));
    if (n == 0)
      return fail(r, SHARC_EFORMAT, "file ends at byte %llu while reading",
                  (unsigned long long)(off + got));
    got += (size_t)n;
  }
  return 0;
}

static uint32_t le16(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8;
}

static uint32_t le32(const unsigned char *b) {
  return le16(b) | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Checks magic, version and header length; sets *prefix (10 or 12) and
 * *hlen, both already known to lie within the file. */
static int read_prefix(const source *src, const report *r,
                       sharc__npy_meta *info, size_t *prefix, uint32_t *hlen) {
  unsigned char b[12];
  uint64_t size = info->file_size;
  size_t have = size < sizeof b ? (size_t)size : sizeof b;
  if (have == 0)
    return fail(r, SHARC_EFORMAT, "magic: empty file, not .npy");
  int rc = read_full(src, b, have, 0, r);
  if (rc != 0)
    return rc;
  size_t m = have < MAGIC_LEN ? have : MAGIC_LEN;
  if (memcmp(b, MAGIC, m) != 0)
    return fail(r, SHARC_EFORMAT,
                "magic: not a .npy file (does not start with \\x93NUMPY)");
  if (have < 8)
    return fail(r, SHARC_EFORMAT,
                "magic: file ends after %zu bytes, inside the prefix", have);
  info->version_major = b[6];
  info->version_minor = b[7];
  if (b[6] < 1 || b[6] > 3 || b[7] != 0)
    return fail(r, SHARC_EFORMAT,
                "version: %u.%u is not supported (1.0, 2.0 or 3.0)", b[6],
                b[7]);
  *prefix = b[6] == 1 ? 10 : 12;
  if (have < *prefix)
    return fail(r, SHARC_EFORMAT,
                "header length: file ends after %zu bytes, inside the "
                "%zu-byte prefix",
                have, *prefix);
  *hlen = b[6] == 1 ? le16(b + 8) : le32(b + 8);
  if (*hlen > HEADER_MAX)
    return fail(r, SHARC_EFORMAT,
                "header length: %u bytes is over the limit of %u",
                (unsigned)*hlen, (unsigned)HEADER_MAX);
  /* size >= have == *prefix here, so the subtraction cannot wrap. */
  if (*hlen > size - *prefix)
    return fail(r, SHARC_EFORMAT,
                "header length: %u bytes, but the file has only %llu after "
                "the prefix",
                (unsigned)*hlen, (unsigned long long)(size - *prefix));
  return 0;
}

/* Length of the UTF-8 sequence at s[0..n), or 0 when it is invalid:
 * overlong forms, surrogates and code points over U+10FFFF included. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  if (c < 0xc2 || c > 0xf4 || n < len)
    return 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c == 0xe0)
    lo = 0xa0; /* overlong 3-byte */
  else if (c == 0xed)
    hi = 0x9f; /* surrogates */
  else if (c == 0xf0)
    lo = 0x90; /* overlong 4-byte */
  else if (c == 0xf4)
    hi = 0x8f; /* beyond U+10FFFF */
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return len;
}

static int check_text(const report *r, int major, const unsigned char *h,
                      size_t n) {
  if (n == 0 || h[n - 1] != '\n')
    return fail(r, SHARC_EFORMAT, "header: does not end with a newline");
  if (major != 3)
    return 0; /* latin-1: every byte is a character */
  for (size_t i = 0; i < n;) {
    size_t len = utf8_seq(h + i, n - i);
    if (len == 0)
      return fail(r, SHARC_EFORMAT,
                  "header: invalid UTF-8 at header byte %zu (version 3.0 "
                  "headers are UTF-8)",
                  i);
    i += len;
  }
  return 0;
}

/* --- the header grammar -------------------------------------------------- */

typedef struct header {
  int seen_descr, seen_fortran, seen_shape;
  int structured; /* descr is a list of fields */
  slice descr;    /* the string, or the list's source text */
  int fortran;
  int ndim;
  uint64_t shape[SHARC_MAX_DIMS];
} header;

typedef struct parser {
  const unsigned char *s;
  size_t n, pos;
  int allow_long; /* versions 1.0 and 2.0 may carry Python 2's 10L */
  int depth;
  const report *r;
} parser;

static int peek(const parser *p) { return p->pos < p->n ? p->s[p->pos] : -1; }

static int is_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int is_name(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         is_digit(c);
}

static void skip_ws(parser *p) {
  while (is_space(peek(p)))
    p->pos++;
}

/* A syntax error: says where, and in which field when inside one. */
static int syntax(const parser *p, const char *field, const char *what) {
  if (peek(p) < 0)
    what = "unexpected end of header";
  if (field != NULL)
    return fail(p->r, SHARC_EFORMAT, "header field '%s': %s at header byte %zu",
                field, what, p->pos);
  return fail(p->r, SHARC_EFORMAT, "header: %s at header byte %zu", what,
              p->pos);
}

/* A quoted string, ' or ". Escapes are skipped over, not decoded: no valid
 * key or descr contains one, so a string with one simply matches nothing. */
static int parse_string(parser *p, const char *field, slice *out) {
  int q = peek(p);
  if (q != '\'' && q != '"')
    return syntax(p, field, "expected a string");
  size_t start = ++p->pos;
  while (p->pos < p->n) {
    unsigned char c = p->s[p->pos];
    if (c == q) {
      *out = (slice){p->s + start, p->pos - start};
      p->pos++;
      return 0;
    }
    if (c == '\n' || c == '\r')
      break;
    p->pos += (c == '\\' && p->pos + 1 < p->n) ? 2 : 1;
  }
  return syntax(p, field, "unterminated string");
}

static void parse_name(parser *p, slice *out) {
  size_t start = p->pos;
  while (is_name(peek(p)))
    p->pos++;
  *out = (slice){p->s + start, p->pos - start};
}

static int parse_bool(parser *p, int *out) {
  static const char *const field = "fortran_order";
  slice s;
  if (is_digit(peek(p)))
    return syntax(p, field, "expected True or False, not a number");
  parse_name(p, &s);
  if (slice_is(s, "True") || slice_is(s, "False")) {
    *out = slice_is(s, "True");
    return 0;
  }
  p->pos -= s.len;
  return syntax(p, field, "expected True or False");
}

/* One extent of the shape: decimal digits, no sign, no leading zeros
 * (Python 3 rejects 05), optionally Python 2's L suffix. */
static int parse_extent(parser *p, int dim, uint64_t *out) {
  static const char *const field = "shape";
  if (peek(p) == '-')
    return fail(p->r, SHARC_EFORMAT,
                "header field 'shape': dimension %d is negative", dim);
  if (!is_digit(peek(p)))
    return syntax(p, field, "expected a non-negative integer");
  if (peek(p) == '0' && p->pos + 1 < p->n && is_digit(p->s[p->pos + 1]))
    return syntax(p, field, "integer with a leading zero");
  uint64_t v = 0;
  for (int c = peek(p); is_digit(c); c = peek(p)) {
    if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
      return fail(p->r, SHARC_EFORMAT,
                  "header field 'shape': dimension %d overflows 2^64", dim);
    v = v * 10 + (uint64_t)(c - '0');
    p->pos++;
  }
  if ((peek(p) == 'L' || peek(p) == 'l') && !p->allow_long)
    return syntax(p, field,
                  "the L suffix is allowed only in version 1.0 and 2.0");
  if (peek(p) == 'L' || peek(p) == 'l')
    p->pos++;
  if (is_name(peek(p)) || peek(p) == '.')
    return syntax(p, field, "expected a non-negative integer");
  *out = v;
  return 0;
}

/* After an item of a tuple or list: 1 at the closing bracket (consumed),
 * 0 after a comma (consumed, spaces skipped), or a negative code. */
static int after_item(parser *p, const char *field, int close) {
  skip_ws(p);
  if (peek(p) == close) {
    p->pos++;
    return 1;
  }
  if (peek(p) != ',')
    return syntax(p, field, "expected ',' or a closing bracket");
  p->pos++;
  skip_ws(p);
  if (peek(p) != close)
    return 0;
  p->pos++;
  return 1;
}

/* The shape: a tuple of extents; (), (5,), (3, 4) and (3, 4,) but not (5),
 * which Python reads as a plain integer. */
static int parse_shape(parser *p, header *h) {
  if (peek(p) != '(')
    return syntax(p, "shape", "expected a tuple");
  p->pos++;
  skip_ws(p);
  if (peek(p) == ')') {
    p->pos++;
    return 0;
  }
  for (;;) {
    if (h->ndim == SHARC_MAX_DIMS)
      return fail(p->r, SHARC_EFORMAT,
                  "header field 'shape': more than %d dimensions",
                  SHARC_MAX_DIMS);
    int rc = parse_extent(p, h->ndim, &h->shape[h->ndim]);
    if (rc != 0)
      return rc;
    h->ndim++;
    skip_ws(p);
    if (peek(p) == ')' && h->ndim == 1)
      return syntax(p, "shape", "(n) is not a tuple; expected (n,)");
    rc = after_item(p, "shape", ')');
    if (rc != 0)
      return rc < 0 ? rc : 0;
  }
}

static int skip_value(parser *p, const char *field);

/* A tuple or list of any values, for structured descrs. */
static int skip_seq(parser *p, const char *field, int close) {
  if (++p->depth > DEPTH_MAX)
    return syntax(p, field, "nested too deeply");
  p->pos++;
  skip_ws(p);
  if (peek(p) == close) {
    p->pos++;
    p->depth--;
    return 0;
  }
  for (;;) {
    int rc = skip_value(p, field);
    if (rc == 0)
      rc = after_item(p, field, close);
    if (rc < 0)
      return rc;
    if (rc == 1)
      break;
  }
  p->depth--;
  return 0;
}

static int skip_value(parser *p, const char *field) {
  int c = peek(p);
  slice s;
  if (c == '\'' || c == '"')
    return parse_string(p, field, &s);
  if (c == '(' || c == '[')
    return skip_seq(p, field, c == '(' ? ')' : ']');
  if (c == '-')
    p->pos++;
  if (!is_digit(peek(p)) && (c == '-' || !is_name(c)))
    return syntax(p, field, "unexpected character");
  parse_name(p, &s); /* a number, or a name such as None */
  return 0;
}

/* descr: a typestr such as '<f8', or a list of fields (structured), which
 * is parsed only so that it can be reported as unsupported. */
static int parse_descr(parser *p, header *h) {
  int c = peek(p);
  if (c == '\'' || c == '"')
    return parse_string(p, "descr", &h->descr);
  if (c != '[')
    return syntax(p, "descr", "expected a string or a list of fields");
  size_t start = p->pos;
  int rc = skip_seq(p, "descr", ']');
  h->structured = 1;
  h->descr = (slice){p->s + start, p->pos - start};
  return rc;
}

static int parse_value(parser *p, header *h, slice key) {
  char name[40];
  int *seen = slice_is(key, "descr")           ? &h->seen_descr
              : slice_is(key, "fortran_order") ? &h->seen_fortran
              : slice_is(key, "shape")         ? &h->seen_shape
                                               : NULL;
  printable(name, sizeof name, key);
  if (seen == NULL)
    return fail(p->r, SHARC_EFORMAT,
                "header: unexpected key '%s' (only 'descr', 'fortran_order' "
                "and 'shape')",
                name);
  if (*seen)
    return fail(p->r, SHARC_EFORMAT, "header: duplicate key '%s'", name);
  *seen = 1;
  if (seen == &h->seen_descr)
    return parse_descr(p, h);
  if (seen == &h->seen_fortran)
    return parse_bool(p, &h->fortran);
  return parse_shape(p, h);
}

static int parse_entry(parser *p, header *h) {
  slice key;
  int rc = parse_string(p, NULL, &key);
  if (rc != 0)
    return rc;
  skip_ws(p);
  if (peek(p) != ':')
    return syntax(p, NULL, "expected ':' after a key");
  p->pos++;
  skip_ws(p);
  return parse_value(p, h, key);
}

static int parse_dict(parser *p, header *h) {
  skip_ws(p);
  if (peek(p) != '{')
    return syntax(p, NULL, "expected '{'");
  p->pos++;
  skip_ws(p);
  int rc = 0;
  if (peek(p) == '}')
    p->pos++;
  else
    while ((rc = parse_entry(p, h)) == 0 &&
           (rc = after_item(p, NULL, '}')) == 0)
      ;
  if (rc < 0)
    return rc;
  skip_ws(p);
  if (p->pos != p->n)
    return syntax(p, NULL, "unexpected text after the dictionary");
  const char *missing = !h->seen_descr     ? "descr"
                        : !h->seen_fortran ? "fortran_order"
                        : !h->seen_shape   ? "shape"
                                           : NULL;
  if (missing != NULL)
    return fail(p->r, SHARC_EFORMAT, "header: missing key '%s'", missing);
  return 0;
}

/* --- from header to info ------------------------------------------------- */

static const struct {
  char kind;
  size_t size;
} kinds[SHARC_DTYPE_COUNT] = {
#define SHARC__NPY_KIND(e, name, kind, size) {kind, size},
    SHARC_DTYPE_MAP(SHARC__NPY_KIND)
#undef SHARC__NPY_KIND
};

static int lookup_dtype(char kind, size_t size, sharc_dtype *dt) {
  if (kind == '?')
    kind = 'b';
  for (int i = 0; i < SHARC_DTYPE_COUNT; i++) {
    if (kinds[i].kind == kind && kinds[i].size == size) {
      *dt = (sharc_dtype)i;
      return 0;
    }
  }
  return SHARC_EDTYPE;
}

/* A typestr split up: byte order (0 when absent), kind, size (0 when
 * absent or not a plain number). */
typedef struct typestr {
  char order;
  char kind;
  size_t size;
} typestr;

static typestr split_typestr(slice s) {
  typestr t = {0, 0, 0};
  size_t i = 0;
  if (s.len > 0 && s.p[0] != '\0' && strchr("<>|=", s.p[0]) != NULL)
    t.order = (char)s.p[i++];
  if (i < s.len)
    t.kind = (char)s.p[i++];
  if (i == s.len || s.p[i] == '0' || s.len - i > 3)
    return t;
  size_t size = 0;
  for (; i < s.len; i++) {
    if (!is_digit(s.p[i]))
      return t;
    size = size * 10 + (size_t)(s.p[i] - '0');
  }
  t.size = size;
  return t;
}

/* Decides whether descr can be mapped: 0, or SHARC_EDTYPE with a message.
 * *itemsize is set whenever the element size is known, so the payload can
 * be checked even for a dtype sharc cannot use. */
static int classify(const report *r, const header *h, sharc_dtype *dt,
                    size_t *itemsize) {
  char d[40];
  printable(d, sizeof d, h->descr);
  *dt = SHARC_DTYPE_COUNT;
  *itemsize = 0;
  if (h->structured)
    return fail(r, SHARC_EDTYPE,
                "header field 'descr': structured dtype not supported");
  typestr t = split_typestr(h->descr);
  if (t.kind == 'O')
    return fail(r, SHARC_EDTYPE,
                "header field 'descr': object dtype '%s' not supported "
                "(Python objects cannot be shared)",
                d);
  if (t.kind != 0 && strchr("biufc?", t.kind) != NULL)
    *itemsize = t.size;
  if (t.size == 0 || lookup_dtype(t.kind, t.size, dt) != 0)
    return fail(r, SHARC_EDTYPE,
                "header field 'descr': dtype '%s' not supported", d);
  if (t.order == '|' && t.size != 1)
    return fail(r, SHARC_EDTYPE,
                "header field 'descr': byte order '|' in '%s' is only valid "
                "for 1-byte types",
                d);
  if (t.order == FOREIGN_ORDER && t.size != 1)
    return fail(r, SHARC_EDTYPE,
                "header field 'descr': byte order of '%s' is " FOREIGN_NAME
                "; this machine is " NATIVE_NAME,
                d);
  return 0;
}

/* Element count and payload bytes. Zero extents are left out of the
 * overflow check, as NumPy does, so (0, 2^40, 2^40) is refused too. */
static int compute_sizes(const report *r, const header *h, size_t itemsize,
                         uint64_t *count, uint64_t *nbytes) {
  uint64_t prod = 1;
  int empty = 0;
  for (int i = 0; i < h->ndim; i++) {
    uint64_t e = h->shape[i];
    if (e == 0) {
      empty = 1;
      continue;
    }
    if (prod > SIZE_MAX63 / e)
      return fail(r, SHARC_EFORMAT,
                  "header field 'shape': element count overflows 2^63");
    prod *= e;
  }
  if (itemsize != 0 && prod > SIZE_MAX63 / itemsize)
    return fail(r, SHARC_EFORMAT,
                "header field 'shape': size in bytes (%zu per element) "
                "overflows 2^63",
                itemsize);
  *count = empty ? 0 : prod;
  *nbytes = *count * itemsize;
  return 0;
}

static int fill_info(const report *r, const header *h, sharc__npy_meta *info) {
  info->fortran_order = h->fortran;
  info->ndim = h->ndim;
  memcpy(info->shape, h->shape, sizeof h->shape);
  printable(info->descr, sizeof info->descr, h->descr);
  size_t itemsize;
  int dtype_rc = classify(r, h, &info->dtype, &itemsize);
  uint64_t count = 0;
  int rc = compute_sizes(r, h, itemsize, &count, &info->nbytes);
  if (rc != 0)
    return rc;
  /* data_offset <= file_size: read_prefix checked the header fits. */
  uint64_t have = info->file_size - info->data_offset;
  if (info->nbytes > have)
    return fail(r, SHARC_EFORMAT,
                "header field 'shape': data is %llu bytes, shape needs %llu",
                (unsigned long long)have, (unsigned long long)info->nbytes);
  info->why_not = dtype_rc;
  /* dtype_rc == 0 implies a known itemsize; tested for the analyzer. */
  if (dtype_rc == 0 && itemsize != 0 && info->data_offset % itemsize != 0)
    info->why_not = fail(r, SHARC_EFORMAT,
                         "data offset %llu is not a multiple of the item "
                         "size %zu",
                         (unsigned long long)info->data_offset, itemsize);
  info->mappable = info->why_not == 0;
  if (info->mappable)
    say(r, "version %d.%d, '%s', mappable", info->version_major,
        info->version_minor, info->descr);
  return 0;
}

static int read_header(const source *src, const report *r,
                       sharc__npy_meta *info) {
  info->file_size = src->size;
  size_t prefix = 0;
  uint32_t hlen = 0;
  int rc = read_prefix(src, r, info, &prefix, &hlen);
  if (rc != 0)
    return rc;
  info->data_offset = prefix + hlen;
  unsigned char *text = malloc(hlen > 0 ? hlen : 1);
  if (text == NULL)
    return fail(r, SHARC_ENOMEM, "no memory for a %u-byte header",
                (unsigned)hlen);
  rc = read_full(src, text, hlen, prefix, r);
  if (rc == 0)
    rc = check_text(r, info->version_major, text, hlen);
  header h;
  memset(&h, 0, sizeof h);
  parser p = {text, hlen, 0, info->version_major < 3, 0, r};
  if (rc == 0)
    rc = parse_dict(&p, &h);
  if (rc == 0)
    rc = fill_info(r, &h, info);
  free(text);
  return rc;
}

int sharc__npy_read_fd(int fd, const char *path, sharc__npy_meta *info,
                       char *msg, size_t msglen) {
  report r = {path != NULL ? path : "(fd)", msg, msglen};
  if (info == NULL)
    return fail(&r, SHARC_EINVAL, "no info to fill");
  memset(info, 0, sizeof *info);
  info->dtype = SHARC_DTYPE_COUNT;
  struct stat st;
  if (fstat(fd, &st) != 0)
    return fail(&r, -errno, "cannot stat: %s", strerror(errno));
  if (S_ISDIR(st.st_mode))
    return fail(&r, -EISDIR, "is a directory, not a .npy file");
  if (!S_ISREG(st.st_mode))
    return fail(&r, SHARC_EFORMAT, "is %s, not a regular file",
                sharc__file_kind(st.st_mode));
  source src = {fd, NULL, (uint64_t)st.st_size};
  return read_header(&src, &r, info);
}

int sharc__npy_parse_mem(const void *data, size_t len, const char *name,
                         sharc__npy_meta *info, char *msg, size_t msglen) {
  report r = {name != NULL ? name : "(memory)", msg, msglen};
  if (info == NULL || (data == NULL && len > 0))
    return fail(&r, SHARC_EINVAL, "no info to fill or no data");
  memset(info, 0, sizeof *info);
  info->dtype = SHARC_DTYPE_COUNT;
  source src = {-1, data, (uint64_t)len};
  return read_header(&src, &r, info);
}

int sharc_npy_probe(const char *path, sharc_npy_info **info, char *msg,
                    size_t msglen) {
  report r = {path != NULL ? path : "(null)", msg, msglen};
  if (info != NULL)
    *info = NULL;
  if (path == NULL || info == NULL)
    return fail(&r, SHARC_EINVAL, "no path or no info");
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; the file is
   * then refused as not regular, and a regular file reads as usual. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return fail(&r, -errno, "cannot open: %s", strerror(errno));
  sharc__npy_meta m;
  int rc = sharc__npy_read_fd(fd, path, &m, msg, msglen);
  close(fd);
  if (rc != 0)
    return rc;
  /* One block: the info, then its shape, then its descr. */
  size_t dims = (size_t)m.ndim * sizeof m.shape[0];
  size_t dlen = strlen(m.descr) + 1;
  sharc_npy_info *in = malloc(sizeof *in + dims + dlen);
  if (in == NULL)
    return fail(&r, SHARC_ENOMEM, "no memory for the header's description");
  uint64_t *shape = (uint64_t *)(in + 1);
  char *descr = (char *)shape + dims;
  memcpy(shape, m.shape, dims);
  memcpy(descr, m.descr, dlen);
  *in = (sharc_npy_info){.version_major = m.version_major,
                         .version_minor = m.version_minor,
                         .dtype = m.dtype,
                         .descr = descr,
                         .fortran_order = m.fortran_order,
                         .ndim = m.ndim,
                         .shape = m.ndim > 0 ? shape : NULL,
                         .data_offset = m.data_offset,
                         .nbytes = m.nbytes,
                         .file_size = m.file_size,
                         .mappable = m.mappable,
                         .why_not = m.why_not};
  *info = in;
  return 0;
}

void sharc_npy_info_free(sharc_npy_info *info) { free(info); }

/* --- writing ------------------------------------------------------------- */

/* The dict as NumPy >= 1.24 writes it: keys sorted, repr() values, a
 * trailing ", " before '}', then room for the growing axis to widen. */
static size_t format_dict(sharc_dtype dt, int fortran, int ndim,
                          const uint64_t *shape, char *out) {
  size_t size = sharc_dtype_size(dt);
  char order = size == 1 ? '|' : NATIVE_ORDER;
  int n = sprintf(out, "{'descr': '%c%c%zu', 'fortran_order': %s, 'shape': (",
                  order, kinds[dt].kind, size, fortran ? "True" : "False");
  for (int i = 0; i < ndim; i++)
    n += sprintf(out + n, "%s%llu", i > 0 ? ", " : "",
                 (unsigned long long)shape[i]);
  n += sprintf(out + n, "%s), }", ndim == 1 ? "," : "");
  if (ndim == 0)
    return (size_t)n;
  char digits[24];
  int grow = sprintf(digits, "%llu",
                     (unsigned long long)shape[fortran ? ndim - 1 : 0]);
  for (; grow < GROWTH_DIGITS; grow++)
    out[n++] = ' ';
  return (size_t)n;
}

/* NumPy's padding: 1 to 64 spaces, then '\n', to a multiple of 64. */
static size_t padded_total(size_t lenlen, size_t dictlen) {
  size_t used = MAGIC_LEN + 2 + lenlen + dictlen + 1;
  return used + (ALIGN - used % ALIGN);
}

long sharc__npy_format_header(sharc_dtype dt, int fortran_order, int ndim,
                              const uint64_t *shape, char *buf, size_t buflen) {
  if (sharc_dtype_size(dt) == 0 || ndim < 0 || ndim > SHARC_MAX_DIMS ||
      (ndim > 0 && shape == NULL) || (buf == NULL && buflen != 0))
    return SHARC_EINVAL;
  char dict[DICT_MAX];
  size_t dlen = format_dict(dt, fortran_order != 0, ndim, shape, dict);
  size_t lenlen = 2;
  size_t total = padded_total(lenlen, dlen);
  if (total - (MAGIC_LEN + 2 + lenlen) > 0xffff) {
    lenlen = 4; /* cannot happen with 64 dimensions; kept for the format */
    total = padded_total(lenlen, dlen);
  }
  if (buf == NULL)
    return (long)total;
  if (buflen < total)
    return SHARC_ERANGE;
  size_t hlen = total - (MAGIC_LEN + 2 + lenlen);
  memcpy(buf, MAGIC, MAGIC_LEN);
  buf[6] = lenlen == 2 ? 1 : 2;
  buf[7] = 0;
  for (size_t i = 0; i < lenlen; i++)
    buf[8 + i] = (char)(hlen >> (8 * i) & 0xff);
  size_t off = MAGIC_LEN + 2 + lenlen;
  memcpy(buf + off, dict, dlen);
  memset(buf + off + dlen, ' ', total - off - dlen - 1);
  buf[total - 1] = '\n';
  return (long)total;
}
