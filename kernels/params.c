/* Parsing of the apps' "key=value,key=value" parameters, driven by a table
 * per app so that every app rejects unknown keys and bad values the same
 * way, with a message naming the key. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"

/* Longer keys or values than these are certainly wrong; cutting them here
 * keeps the parser free of allocation. */
#define PARAM_KEY_MAX 64
#define PARAM_VALUE_MAX 256

static const sharc_app_param *param_find(const sharc_app_param *spec,
                                         size_t nspec, const char *key) {
  for (size_t i = 0; i < nspec; i++)
    if (strcmp(spec[i].key, key) == 0)
      return &spec[i];
  return NULL;
}

/* "seed, work, alpha" for the unknown-key message. */
static void param_known(const sharc_app_param *spec, size_t nspec, char *buf,
                        size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  if (nspec == 0) {
    snprintf(buf, len, "none");
    return;
  }
  for (size_t i = 0; i < nspec && used < len; i++) {
    int w =
        snprintf(buf + used, len - used, "%s%s", i ? ", " : "", spec[i].key);
    if (w < 0)
      return;
    used += (size_t)w;
  }
}

static int param_range_msg(const char *app, const sharc_app_param *p,
                           const char *val, char *msg, size_t msglen) {
  char range[96];
  if (p->type == SHARC_APP_PARAM_F64)
    snprintf(range, sizeof range, "a number in [%.17g, %.17g]", p->min, p->max);
  else if (p->max >= 0x1p64)
    snprintf(range, sizeof range, "an unsigned 64-bit integer");
  else
    snprintf(range, sizeof range, "an integer in [%.0f, %.0f]", p->min, p->max);
  sharc_app_msg(msg, msglen, "%s: bad value '%s' for %s (expected %s%s%s)", app,
                val, p->key, range, p->none ? " or " : "",
                p->none ? p->none : "");
  return SHARC_EINVAL;
}

static int param_u64(const char *app, const sharc_app_param *p, const char *val,
                     char *msg, size_t msglen) {
  uint64_t *out = p->out;
  if (p->none && strcmp(val, p->none) == 0) {
    *out = UINT64_MAX;
    return 0;
  }
  /* strtoull accepts "-1" (wrapping) and leading blanks: demand a digit. */
  if (val[0] < '0' || val[0] > '9')
    return param_range_msg(app, p, val, msg, msglen);
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(val, &end, 10);
  if (errno || *end != '\0' || (double)v < p->min || (double)v > p->max)
    return param_range_msg(app, p, val, msg, msglen);
  *out = (uint64_t)v;
  return 0;
}

static int param_f64(const char *app, const sharc_app_param *p, const char *val,
                     char *msg, size_t msglen) {
  char *end = NULL;
  errno = 0;
  double v = strtod(val, &end);
  if (val[0] == '\0' || errno || *end != '\0' || !isfinite(v) || v < p->min ||
      v > p->max)
    return param_range_msg(app, p, val, msg, msglen);
  *(double *)p->out = v;
  return 0;
}

static int param_choice(const char *app, const sharc_app_param *p,
                        const char *val, char *msg, size_t msglen) {
  char names[PARAM_VALUE_MAX];
  size_t used = 0;
  names[0] = '\0';
  for (unsigned i = 0; p->choices[i]; i++) {
    if (strcmp(p->choices[i], val) == 0) {
      *(unsigned *)p->out = i;
      return 0;
    }
    int w = snprintf(names + used, sizeof names - used, "%s%s", i ? "|" : "",
                     p->choices[i]);
    if (w > 0 && used + (size_t)w < sizeof names)
      used += (size_t)w;
  }
  sharc_app_msg(msg, msglen, "%s: bad value '%s' for %s (expected %s)", app,
                val, p->key, names);
  return SHARC_EINVAL;
}

static int param_apply(const char *app, const sharc_app_param *spec,
                       size_t nspec, const char *key, const char *val,
                       char *msg, size_t msglen) {
  const sharc_app_param *p = param_find(spec, nspec, key);
  if (!p) {
    char known[PARAM_VALUE_MAX];
    param_known(spec, nspec, known, sizeof known);
    sharc_app_msg(msg, msglen, "%s: unknown parameter '%s' (known: %s)", app,
                  key, known);
    return SHARC_EINVAL;
  }
  switch (p->type) {
  case SHARC_APP_PARAM_U64:
    return param_u64(app, p, val, msg, msglen);
  case SHARC_APP_PARAM_F64:
    return param_f64(app, p, val, msg, msglen);
  case SHARC_APP_PARAM_CHOICE:
    return param_choice(app, p, val, msg, msglen);
  }
  return SHARC_EINVAL;
}

/* Splits one "key=value" segment of length len into key and val. */
static int param_split(const char *app, const char *seg, size_t len, char *key,
                       char *val, char *msg, size_t msglen) {
  const char *eq = memchr(seg, '=', len);
  size_t klen = eq ? (size_t)(eq - seg) : len;
  if (!eq || klen == 0 || klen >= PARAM_KEY_MAX ||
      len - klen - 1 >= PARAM_VALUE_MAX) {
    sharc_app_msg(msg, msglen,
                  "%s: malformed parameter '%.*s' (want key=value)", app,
                  (int)(len < PARAM_VALUE_MAX ? len : PARAM_VALUE_MAX), seg);
    return SHARC_EINVAL;
  }
  memcpy(key, seg, klen);
  key[klen] = '\0';
  memcpy(val, eq + 1, len - klen - 1);
  val[len - klen - 1] = '\0';
  return 0;
}

int sharc_app_params_repeated(const char *app, const char *text, char *msg,
                              size_t msglen) {
  for (const char *s = text ? text : ""; *s;) {
    size_t len = strcspn(s, ",");
    size_t klen = strcspn(s, "=,");
    /* Is this segment's key also the key of a later segment? (A segment
     * without '=' is left to the parser, which calls it malformed.) */
    for (const char *t = s + len; klen > 0 && s[klen] == '=' && *t;) {
      t += *t == ',';
      size_t tlen = strcspn(t, "=,");
      if (tlen == klen && t[klen] == '=' && memcmp(s, t, klen) == 0) {
        sharc_app_msg(msg, msglen,
                      "%s: parameter '%.*s' given twice (once is enough)", app,
                      (int)(klen < PARAM_KEY_MAX ? klen : PARAM_KEY_MAX), s);
        return SHARC_EINVAL;
      }
      t += strcspn(t, ",");
    }
    s += len;
    s += *s == ',';
  }
  return 0;
}

int sharc_app_params_parse(const char *app, const char *text,
                           const sharc_app_param *spec, size_t nspec, char *msg,
                           size_t msglen) {
  int dup = sharc_app_params_repeated(app, text, msg, msglen);
  if (dup)
    return dup;
  const char *s = text ? text : "";
  while (*s) {
    size_t len = strcspn(s, ",");
    if (len >
        0) { /* empty segments ("a=1,,b=2", a trailing ',') are harmless */
      char key[PARAM_KEY_MAX], val[PARAM_VALUE_MAX];
      int rc = param_split(app, s, len, key, val, msg, msglen);
      if (rc == 0)
        rc = param_apply(app, spec, nspec, key, val, msg, msglen);
      if (rc)
        return rc;
    }
    s += len;
    if (*s == ',')
      s++;
  }
  return 0;
}
