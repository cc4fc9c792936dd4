/* color_relief: colour relief from a colour table in the format of gdaldem
 * color-relief (GDAL 3.6): absolute values, percentages of the data range,
 * `nv` for nodata, R G B [A] or a colour name [A]; linear interpolation
 * with gdaldem's rounding (truncation after adding 0.45), or the nearest
 * entry, or exact entries only. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dem.h"

static void fmt(char *msg, size_t msglen, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt(char *msg, size_t msglen, const char *f, ...) {
  if (!msg || !msglen)
    return;
  va_list ap;
  va_start(ap, f);
  vsnprintf(msg, msglen, f, ap);
  va_end(ap);
}

/* gdaldem's colour names; channels are (int)(255 * f). */
static const struct {
  const char *name;
  double r, g, b;
} k_names[] = {
    {"white", 1, 1, 1},         {"black", 0, 0, 0},
    {"red", 1, 0, 0},           {"green", 0, 1, 0},
    {"blue", 0, 0, 1},          {"yellow", 1, 1, 0},
    {"magenta", 1, 0, 1},       {"cyan", 0, 1, 1},
    {"aqua", 0, 0.75, 0.75},    {"grey", 0.75, 0.75, 0.75},
    {"gray", 0.75, 0.75, 0.75}, {"orange", 1, 0.5, 0},
    {"brown", 0.75, 0.5, 0.25}, {"purple", 0.75, 0, 0.75},
    {"violet", 0.5, 0, 1},      {"indigo", 0, 0.5, 1},
};

#define MAX_TOKENS 8

static int is_sep(char c) {
  return c == ' ' || c == '\t' || c == ',' || c == ':' || c == '\r';
}

static unsigned split(char *line, char **tok) {
  unsigned n = 0;
  char *p = line;
  while (*p) {
    while (*p && is_sep(*p))
      *p++ = '\0';
    if (!*p)
      break;
    if (n == MAX_TOKENS)
      return MAX_TOKENS + 1;
    tok[n++] = p;
    while (*p && !is_sep(*p))
      p++;
  }
  return n;
}

static int parse_double(const char *s, double *out) {
  char *end = NULL;
  if (!*s)
    return -1;
  double v = strtod(s, &end);
  if (*end || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int parse_channel(const char *s, uint8_t *out) {
  double v;
  if (parse_double(s, &v) || v < 0 || v > 255 || v != floor(v))
    return -1;
  *out = (uint8_t)v;
  return 0;
}

static int parse_value(const char *s, sharc_relief_entry *e) {
  if (!strcmp(s, "nv")) {
    e->kind = 2;
    e->value = 0;
    return 0;
  }
  size_t n = strlen(s);
  if (n > 1 && s[n - 1] == '%') {
    char buf[64];
    if (n - 1 >= sizeof buf)
      return -1;
    memcpy(buf, s, n - 1);
    buf[n - 1] = '\0';
    e->kind = 1;
    if (parse_double(buf, &e->value) || e->value < 0 || e->value > 100)
      return -1;
    return 0;
  }
  e->kind = 0;
  return parse_double(s, &e->value);
}

static int parse_color(char **tok, unsigned n, sharc_relief_entry *e) {
  e->rgba[3] = 255;
  if (n >= 1 && isalpha((unsigned char)tok[0][0])) {
    if (n > 2)
      return -1;
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++) {
      if (strcasecmp(tok[0], k_names[i].name))
        continue;
      e->rgba[0] = (uint8_t)(int)(255 * k_names[i].r);
      e->rgba[1] = (uint8_t)(int)(255 * k_names[i].g);
      e->rgba[2] = (uint8_t)(int)(255 * k_names[i].b);
      return n == 2 ? parse_channel(tok[1], &e->rgba[3]) : 0;
    }
    return -1;
  }
  if (n != 3 && n != 4)
    return -1;
  for (unsigned i = 0; i < n; i++)
    if (parse_channel(tok[i], &e->rgba[i]))
      return -1;
  return 0;
}

int sharc_relief_parse(const char *text, sharc_relief_table *t, char *msg,
                       size_t msglen) {
  t->n = 0;
  unsigned lineno = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char line[512];
    lineno++;
    if (len >= sizeof line) {
      fmt(msg, msglen, "line %u: longer than %zu characters", lineno,
          sizeof line - 1);
      return SHARC_EFORMAT;
    }
    memcpy(line, p, len);
    line[len] = '\0';
    p += len + (nl ? 1 : 0);
    char *tok[MAX_TOKENS];
    unsigned n = split(line, tok);
    if (n == 0 || tok[0][0] == '#' || tok[0][0] == '/')
      continue;
    sharc_relief_entry e;
    memset(&e, 0, sizeof e);
    if (n > MAX_TOKENS || parse_value(tok[0], &e) ||
        parse_color(tok + 1, n - 1, &e)) {
      fmt(msg, msglen,
          "line %u: expected 'VALUE R G B [A]' or 'VALUE NAME [A]' (VALUE a "
          "number, N%% or nv; channels 0..255)",
          lineno);
      return SHARC_EFORMAT;
    }
    if (t->n == SHARC_RELIEF_MAX_ENTRIES) {
      fmt(msg, msglen, "line %u: more than %d entries", lineno,
          SHARC_RELIEF_MAX_ENTRIES);
      return SHARC_EFORMAT;
    }
    t->e[t->n++] = e;
  }
  if (t->n == 0) {
    fmt(msg, msglen, "line %u: no colour entries", lineno);
    return SHARC_EFORMAT;
  }
  return 0;
}

int sharc_relief_prepare(const sharc_relief_table *t, double min, double max,
                         int has_nodata, float nodata, int mode, uint64_t width,
                         uint64_t height, sharc_relief_args *out, char *msg,
                         size_t msglen) {
  memset(out, 0, sizeof *out);
  out->width = width;
  out->height = height;
  out->mode = mode;
  out->has_nodata = has_nodata;
  out->nodata = nodata;
  for (unsigned i = 0; i < t->n; i++) {
    const sharc_relief_entry *e = &t->e[i];
    if (e->kind == 2) {
      /* gdaldem ignores nv (with a warning) when the band has no nodata. */
      if (has_nodata) {
        out->has_nv = 1;
        memcpy(out->nv_rgba, e->rgba, 4);
      }
      continue;
    }
    double v = e->kind == 1 ? min + e->value / 100.0 * (max - min) : e->value;
    /* Insertion keeps equal values in file order. */
    unsigned j = out->n;
    while (j > 0 && out->value[j - 1] > v) {
      out->value[j] = out->value[j - 1];
      memcpy(out->rgba[j], out->rgba[j - 1], 4);
      j--;
    }
    out->value[j] = v;
    memcpy(out->rgba[j], e->rgba, 4);
    out->n++;
  }
  if (out->n == 0 && !out->has_nv) {
    fmt(msg, msglen, "no usable colour entry");
    return SHARC_EINVAL;
  }
  return 0;
}

/* Hot path: a binary search per pixel, no allocation. */
void sharc_relief_color(const sharc_relief_args *a, float fv, uint8_t rgba[4]) {
  if (a->has_nv && sharc_dem_is_nodata(fv, a->nodata)) {
    memcpy(rgba, a->nv_rgba, 4);
    return;
  }
  unsigned n = a->n;
  double v = fv;
  if (n == 0 || isnan(fv)) {
    memset(rgba, 0, 4);
    return;
  }
  /* lo: the first entry whose value is >= v. */
  unsigned lo = 0, hi = n;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (a->value[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (a->mode == SHARC_RELIEF_EXACT) {
    if (lo < n && a->value[lo] == v)
      memcpy(rgba, a->rgba[lo], 4);
    else
      memset(rgba, 0, 4);
    return;
  }
  if (lo == 0) {
    memcpy(rgba, a->rgba[0], 4);
    return;
  }
  if (lo == n) {
    memcpy(rgba, a->rgba[n - 1], 4);
    return;
  }
  double v0 = a->value[lo - 1], v1 = a->value[lo];
  const uint8_t *c0 = a->rgba[lo - 1], *c1 = a->rgba[lo];
  if (a->mode == SHARC_RELIEF_NEAREST) {
    memcpy(rgba, (v - v0 < v1 - v) ? c0 : c1, 4);
    return;
  }
  double f = (v - v0) / (v1 - v0);
  for (int k = 0; k < 4; k++) {
    double c = 0.45 + c0[k] + f * ((double)c1[k] - (double)c0[k]);
    rgba[k] = c <= 0 ? 0 : c >= 255 ? 255 : (uint8_t)c;
  }
}

static int color_relief(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const sharc_relief_args *a = sharc_task_args(t, &len);
  const float *dem = sharc_task_array(t, 0);
  uint8_t *out = sharc_task_array(t, 1);
  if (!a || len != sizeof *a || !dem || !out || end > a->height ||
      sharc_task_array_size(t, 0) != a->width * a->height ||
      sharc_task_array_size(t, 1) != 4 * a->width * a->height)
    return SHARC_EINVAL;
  for (uint64_t i = begin * a->width; i < end * a->width; i++)
    sharc_relief_color(a, dem[i], out + 4 * i);
  return 0;
}
SHARC_KERNEL(color_relief)
