/* sharc report: reads a job's chunk trace and prints a summary, or draws it
 * as an SVG timeline or a Chrome trace-event file.
 *
 * The trace is text (the library writes it; this is its reader):
 *
 *   # sharc trace 1
 *   kernel NAME
 *   n N
 *   workers W
 *   schedule SCHED
 *   makespan_ns T
 *   c WORKER START_NS END_NS BEGIN END VICTIM SEARCH_NS
 *
 * one `c` line per chunk: the worker, the chunk's start and end in ns since
 * the job was posted, its index range [BEGIN, END), VICTIM = -1 for work
 * from the worker's own range or the shared counter, else the worker it was
 * stolen from, and SEARCH_NS = time spent looking for work just before it.
 * Lines starting with '#' are comments; unknown keys before the first `c`
 * line are ignored (newer writers may add some); lines may come in any
 * order. Every number is checked, and an error names the file and line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "opts.h"

#define TRACE_MAGIC "# sharc trace 1"
#define MAX_WORKERS 65536u
#define MAX_CHUNKS (UINT64_C(1) << 27)
#define MAX_INDEX (UINT64_C(1) << 62)
#define MAX_NS (UINT64_C(1) << 62)
/* Above this many chunks the SVG merges, per lane, runs of chunks that
 * together span less than a pixel, so it stays a few MB. */
#define SVG_MERGE_ABOVE 100000u
/* Up to this many chunks each bar carries a tooltip. */
#define SVG_TITLES_UPTO 5000u

static const char usage_text[] =
    "usage: sharc report [-h] FILE [--svg OUT.svg] [--chrome OUT.json]\n"
    "\n"
    "Reads a job's chunk trace (text, '# sharc trace 1') and prints a\n"
    "summary: makespan, and per worker the chunks, steals, indices, busy,\n"
    "search and idle time; imbalance = (max busy - mean busy) / max busy.\n"
    "\n"
    "options:\n"
    "  --svg OUT.svg       draw a timeline instead: one lane per worker, a\n"
    "                      bar per chunk (stolen chunks in orange), search\n"
    "                      time in red just before the chunk it found\n"
    "  --chrome OUT.json   write Chrome trace events instead "
    "(chrome://tracing,\n"
    "                      ui.perfetto.dev): one complete event per chunk\n"
    "  -h, --help          print this help and exit\n"
    "\n"
    "exit status: 0 done, 1 unreadable or malformed trace or unwritable\n"
    "output, 2 usage error\n";

typedef struct chunk {
  uint64_t start, end;  /* ns since the job was posted */
  uint64_t begin, stop; /* index range [begin, stop) */
  uint64_t search;      /* ns spent looking for it */
  uint64_t line;        /* where it was read, for messages */
  uint32_t worker;
  int32_t victim; /* -1: own range or shared counter */
} chunk;

typedef struct trace {
  const char *path;
  char kernel[128];
  char schedule[128];
  uint64_t n, workers, makespan;
  int have_n, have_workers, have_makespan, have_kernel, have_schedule;
  chunk *c;
  size_t count, cap;
} trace;

typedef struct lane {
  uint64_t chunks, steals, indices, busy, search;
} lane;

static int fail_at(const trace *t, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(const trace *t, uint64_t line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sharc report: %s:%" PRIu64 ": ", t->path, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

/* --- reading -------------------------------------------------------------- */

/* A decimal number with no sign, at most max. */
static int parse_num(const char *s, uint64_t max, uint64_t *out) {
  if (s == NULL || s[0] < '0' || s[0] > '9')
    return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max)
    return -1;
  *out = v;
  return 0;
}

/* Splits line into at most max whitespace-separated words; returns the
 * count, or max + 1 if there were more. */
static size_t split(char *line, char **words, size_t max) {
  size_t count = 0;
  for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w != NULL;
       w = strtok_r(NULL, " \t\r\n", &save)) {
    if (count == max)
      return max + 1;
    words[count++] = w;
  }
  return count;
}

static int parse_chunk(trace *t, char **f, size_t nf, uint64_t line) {
  if (nf != 8)
    return fail_at(t, line,
                   "a chunk line has 7 numbers (c WORKER START_NS END_NS "
                   "BEGIN END VICTIM SEARCH_NS), this one has %zu",
                   nf - 1);
  static const char *const names[] = {"WORKER", "START_NS", "END_NS",   "BEGIN",
                                      "END",    "VICTIM",   "SEARCH_NS"};
  uint64_t v[7];
  for (size_t i = 0; i < 7; i++) {
    uint64_t max = i == 0             ? MAX_WORKERS - 1
                   : i == 3 || i == 4 ? MAX_INDEX
                                      : MAX_NS;
    if (i == 5 && strcmp(f[6], "-1") == 0) {
      v[5] = UINT64_MAX;
      continue;
    }
    if (i == 5)
      max = MAX_WORKERS - 1;
    if (parse_num(f[i + 1], max, &v[i]) != 0)
      return fail_at(t, line, "%s '%s' is not a number in [%s, %" PRIu64 "]",
                     names[i], f[i + 1], i == 5 ? "-1" : "0", max);
  }
  if (v[2] < v[1])
    return fail_at(t, line, "END_NS %" PRIu64 " is before START_NS %" PRIu64,
                   v[2], v[1]);
  if (v[4] <= v[3])
    return fail_at(t, line,
                   "index range [%" PRIu64 ", %" PRIu64 ") is empty or "
                   "reversed (END must be above BEGIN)",
                   v[3], v[4]);
  if (v[6] > v[1])
    return fail_at(t, line,
                   "SEARCH_NS %" PRIu64 " is longer than the time before the "
                   "chunk started (%" PRIu64 " ns)",
                   v[6], v[1]);
  if (v[5] != UINT64_MAX && v[5] == v[0])
    return fail_at(t, line, "worker %" PRIu64 " cannot steal from itself",
                   v[0]);
  if (t->count == MAX_CHUNKS)
    return fail_at(t, line, "more than %" PRIu64 " chunks", MAX_CHUNKS);
  if (t->count == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 1024;
    chunk *c = realloc(t->c, cap * sizeof *c);
    if (c == NULL)
      return fail_at(t, line, "out of memory");
    t->c = c;
    t->cap = cap;
  }
  t->c[t->count++] = (chunk){
      v[1], v[2], v[3],           v[4],
      v[6], line, (uint32_t)v[0], v[5] == UINT64_MAX ? -1 : (int32_t)v[5]};
  return 0;
}

static int parse_text_key(trace *t, char *dst, size_t len, int *have, char **f,
                          size_t nf, uint64_t line) {
  if (*have)
    return fail_at(t, line, "'%s' given twice", f[0]);
  if (nf != 2)
    return fail_at(t, line, "'%s' takes one word", f[0]);
  if (strlen(f[1]) >= len)
    return fail_at(t, line, "'%s' is longer than %zu characters", f[0],
                   len - 1);
  snprintf(dst, len, "%s", f[1]);
  *have = 1;
  return 0;
}

static int parse_num_key(trace *t, uint64_t *dst, uint64_t lo, uint64_t max,
                         int *have, char **f, size_t nf, uint64_t line) {
  if (*have)
    return fail_at(t, line, "'%s' given twice", f[0]);
  if (nf != 2 || parse_num(f[1], max, dst) != 0 || *dst < lo)
    return fail_at(t, line,
                   "'%s' takes one number in [%" PRIu64 ", %" PRIu64 "]", f[0],
                   lo, max);
  *have = 1;
  return 0;
}

static int parse_line(trace *t, char *text, uint64_t line) {
  char *f[10];
  size_t nf = split(text, f, 9);
  if (nf == 0)
    return 0; /* blank */
  if (strcmp(f[0], "c") == 0)
    return parse_chunk(t, f, nf, line);
  if (strcmp(f[0], "kernel") == 0)
    return parse_text_key(t, t->kernel, sizeof t->kernel, &t->have_kernel, f,
                          nf, line);
  if (strcmp(f[0], "schedule") == 0)
    return parse_text_key(t, t->schedule, sizeof t->schedule, &t->have_schedule,
                          f, nf, line);
  if (strcmp(f[0], "n") == 0)
    return parse_num_key(t, &t->n, 1, MAX_INDEX, &t->have_n, f, nf, line);
  if (strcmp(f[0], "workers") == 0)
    return parse_num_key(t, &t->workers, 1, MAX_WORKERS, &t->have_workers, f,
                         nf, line);
  if (strcmp(f[0], "makespan_ns") == 0)
    return parse_num_key(t, &t->makespan, 0, MAX_NS, &t->have_makespan, f, nf,
                         line);
  if (t->count == 0)
    return 0; /* a key from a newer writer */
  return fail_at(t, line, "unknown key '%s' after the first chunk line", f[0]);
}

/* Checks what needs the whole file: chunks against n, workers, makespan. */
static int check_trace(trace *t, uint64_t lines) {
  if (!t->have_n || !t->have_workers)
    return fail_at(t, lines, "the trace never gives '%s'",
                   t->have_n ? "workers" : "n");
  uint64_t last = 0;
  for (size_t i = 0; i < t->count; i++) {
    const chunk *c = &t->c[i];
    if (c->worker >= t->workers)
      return fail_at(t, c->line,
                     "worker %" PRIu32 " is out of range (the "
                     "trace has %" PRIu64 " workers)",
                     c->worker, t->workers);
    if (c->victim >= 0 && (uint64_t)c->victim >= t->workers)
      return fail_at(t, c->line,
                     "victim %" PRId32 " is out of range (the "
                     "trace has %" PRIu64 " workers)",
                     c->victim, t->workers);
    if (c->stop > t->n)
      return fail_at(t, c->line, "END %" PRIu64 " is beyond n = %" PRIu64,
                     c->stop, t->n);
    if (t->have_makespan && c->end > t->makespan)
      return fail_at(t, c->line,
                     "END_NS %" PRIu64 " is after makespan_ns %" PRIu64, c->end,
                     t->makespan);
    last = c->end > last ? c->end : last;
  }
  if (!t->have_makespan)
    t->makespan = last;
  if (!t->have_kernel)
    snprintf(t->kernel, sizeof t->kernel, "?");
  if (!t->have_schedule)
    snprintf(t->schedule, sizeof t->schedule, "?");
  return 0;
}

static int read_trace(trace *t) {
  /* Without blocking: a FIFO given as the trace is refused, not waited on. */
  int fd = open(t->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    fprintf(stderr, "sharc report: %s: not a regular file\n", t->path);
    return 1;
  }
  FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (f == NULL) {
    fprintf(stderr, "sharc report: %s: %s\n", t->path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return 1;
  }
  (void)fcntl(fd, F_SETFL, 0);
  char *text = NULL;
  size_t cap = 0;
  uint64_t line = 0;
  int rc = 0;
  ssize_t len;
  while (rc == 0 && (len = getline(&text, &cap, f)) != -1) {
    line++;
    if ((size_t)len != strlen(text)) {
      rc = fail_at(t, line, "a NUL byte in the line: not a text trace");
    } else if (line == 1) {
      size_t end = strlen(text);
      while (end > 0 && strchr(" \t\r\n", text[end - 1]) != NULL)
        text[--end] = '\0';
      if (strcmp(text, TRACE_MAGIC) != 0)
        rc = fail_at(t, line, "not a sharc trace: the first line must be '%s'",
                     TRACE_MAGIC);
    } else if (text[0] != '#') {
      rc = parse_line(t, text, line);
    }
  }
  if (rc == 0 && ferror(f)) {
    fprintf(stderr, "sharc report: %s: read error\n", t->path);
    rc = 1;
  }
  if (rc == 0 && line == 0)
    rc = fail_at(t, 1, "empty file: not a sharc trace");
  free(text);
  fclose(f);
  return rc == 0 ? check_trace(t, line) : rc;
}

/* --- the summary ---------------------------------------------------------- */

static lane *make_lanes(const trace *t) {
  lane *l = calloc(t->workers, sizeof *l);
  if (l == NULL)
    return NULL;
  for (size_t i = 0; i < t->count; i++) {
    const chunk *c = &t->c[i];
    lane *w = &l[c->worker];
    w->chunks++;
    w->steals += c->victim >= 0;
    w->indices += c->stop - c->begin;
    w->busy += c->end - c->start;
    w->search += c->search;
  }
  return l;
}

/* (max - mean) / max of per-worker busy time, in percent. */
static double imbalance(const trace *t, const lane *l) {
  uint64_t max = 0;
  double sum = 0;
  for (uint64_t w = 0; w < t->workers; w++) {
    max = l[w].busy > max ? l[w].busy : max;
    sum += (double)l[w].busy;
  }
  if (max == 0)
    return 0;
  return ((double)max - sum / (double)t->workers) / (double)max * 100.0;
}

static void print_summary(const trace *t, const lane *l) {
  uint64_t steals = 0, indices = 0;
  for (uint64_t w = 0; w < t->workers; w++) {
    steals += l[w].steals;
    indices += l[w].indices;
  }
  printf("trace:     %s\n", t->path);
  printf("kernel:    %s\n", t->kernel);
  printf("schedule:  %s\n", t->schedule);
  printf("n:         %" PRIu64 " (chunks cover %" PRIu64 " indices)\n", t->n,
         indices);
  printf("workers:   %" PRIu64 "\n", t->workers);
  printf("makespan:  %.3f ms (%" PRIu64 " ns)\n", (double)t->makespan * 1e-6,
         t->makespan);
  printf("chunks:    %zu, %" PRIu64 " stolen\n", t->count, steals);
  printf("imbalance: %.1f%%\n\n", imbalance(t, l));
  printf("%6s %10s %8s %12s %12s %12s %12s %7s\n", "worker", "chunks", "steals",
         "indices", "busy_ms", "search_ms", "idle_ms", "busy%");
  for (uint64_t w = 0; w < t->workers; w++) {
    const lane *x = &l[w];
    uint64_t used = x->busy + x->search;
    double idle = used < t->makespan ? (double)(t->makespan - used) : 0.0;
    double pct =
        t->makespan ? 100.0 * (double)x->busy / (double)t->makespan : 0.0;
    printf("%6" PRIu64 " %10" PRIu64 " %8" PRIu64 " %12" PRIu64
           " %12.3f %12.3f %12.3f %7.1f\n",
           w, x->chunks, x->steals, x->indices, (double)x->busy * 1e-6,
           (double)x->search * 1e-6, idle * 1e-6, pct);
  }
}

/* --- Chrome trace events -------------------------------------------------- */

/* ns as microseconds with three decimals, exactly. */
static void put_us(FILE *f, uint64_t ns) {
  fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

static void put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch < 0x7f ? ch : '?', f); /* ASCII: always valid UTF-8 */
  }
  fputc('"', f);
}

static void write_chrome(const trace *t, FILE *f) {
  fprintf(f, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"kernel\":");
  put_json_string(f, t->kernel);
  fprintf(f, ",\"schedule\":");
  put_json_string(f, t->schedule);
  fprintf(f,
          ",\"n\":%" PRIu64 ",\"workers\":%" PRIu64 ",\"makespan_ns\":%" PRIu64
          "},\n\"traceEvents\":[\n",
          t->n, t->workers, t->makespan);
  for (uint64_t w = 0; w < t->workers; w++)
    fprintf(f,
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":%" PRIu64
            ",\"args\":{\"name\":\"worker %" PRIu64 "\"}},\n",
            w, w);
  for (size_t i = 0; i < t->count; i++) {
    const chunk *c = &t->c[i];
    fprintf(f,
            "{\"name\":\"[%" PRIu64 ",%" PRIu64 ")\",\"cat\":\"%s\","
            "\"ph\":\"X\",\"ts\":",
            c->begin, c->stop, c->victim >= 0 ? "stolen" : "own");
    put_us(f, c->start);
    fprintf(f, ",\"dur\":");
    put_us(f, c->end - c->start);
    fprintf(f,
            ",\"pid\":0,\"tid\":%" PRIu32 ",\"args\":{\"begin\":%" PRIu64
            ",\"end\":%" PRIu64 ",\"indices\":%" PRIu64 ",\"victim\":%" PRId32
            ",\"search_ns\":%" PRIu64 "}}%s\n",
            c->worker, c->begin, c->stop, c->stop - c->begin, c->victim,
            c->search, i + 1 < t->count ? "," : "");
  }
  fprintf(f, "]}\n");
}

/* --- SVG ------------------------------------------------------------------ */

#define SVG_WIDTH 1200.0
#define SVG_LEFT 70.0
#define SVG_RIGHT 20.0
#define SVG_TOP 50.0
#define SVG_LANE 18.0
#define SVG_BAR 14.0

typedef struct svg {
  FILE *f;
  double scale; /* px per ns */
  double x0;
} svg;

static double px(const svg *s, uint64_t ns) {
  return s->x0 + (double)ns * s->scale;
}

static int by_worker_start(const void *a, const void *b) {
  const chunk *x = a, *y = b;
  if (x->worker != y->worker)
    return x->worker < y->worker ? -1 : 1;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return (x->begin > y->begin) - (x->begin < y->begin);
}

/* A step of 1, 2 or 5 times a power of ten giving about 10 ticks. */
static uint64_t tick_step(uint64_t span) {
  uint64_t step = 1;
  while (step * 10 < span / 10 + 1)
    step *= 10;
  if (step * 2 * 10 >= span)
    return step < 1 ? 1 : step;
  if (step * 5 * 10 >= span)
    return step * 2;
  return step * 5;
}

static void svg_tick_label(FILE *f, uint64_t ns, uint64_t step) {
  if (step >= 1000000)
    fprintf(f, "%.0f ms", (double)ns * 1e-6);
  else if (step >= 1000)
    fprintf(f, "%.0f us", (double)ns * 1e-3);
  else
    fprintf(f, "%" PRIu64 " ns", ns);
}

static void svg_axis(const svg *s, const trace *t, double bottom) {
  uint64_t span = t->makespan ? t->makespan : 1;
  uint64_t step = tick_step(span);
  fprintf(s->f,
          "<g class=\"axis\" stroke=\"#444\"><line x1=\"%.1f\" y1=\"%.1f\" "
          "x2=\"%.1f\" y2=\"%.1f\"/></g>\n",
          s->x0, bottom, px(s, span), bottom);
  for (uint64_t ns = 0; ns <= span; ns += step) {
    double x = px(s, ns);
    fprintf(s->f,
            "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\" stroke=\"#444\"/><text x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"middle\">",
            x, bottom, x, bottom + 5, x, bottom + 17);
    svg_tick_label(s->f, ns, step);
    fprintf(s->f, "</text>\n");
    if (ns > UINT64_MAX - step)
      break;
  }
}

static void svg_bar(const svg *s, const chunk *c, double y, unsigned shade,
                    int titles) {
  /* Own chunks blue, stolen ones orange; two shades alternate along a lane
   * so adjacent chunks stay distinguishable. */
  static const char *const own[2] = {"#4a86c5", "#2b5f96"};
  static const char *const stolen[2] = {"#f0a040", "#c8741a"};
  double x = px(s, c->start), w = px(s, c->end) - x;
  if (c->search > 0) {
    double sx = px(s, c->start - c->search);
    fprintf(s->f,
            "<rect class=\"search\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
            "height=\"4\" fill=\"#d62728\"/>\n",
            sx, y + SVG_BAR / 2 - 2, x - sx > 0.3 ? x - sx : 0.3);
  }
  fprintf(s->f,
          "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
          "height=\"%.0f\" fill=\"%s\"",
          c->victim >= 0 ? "stolen" : "own", x, y, w > 0.3 ? w : 0.3, SVG_BAR,
          c->victim >= 0 ? stolen[shade & 1] : own[shade & 1]);
  if (!titles) {
    fprintf(s->f, "/>\n");
    return;
  }
  fprintf(s->f,
          "><title>worker %" PRIu32 " [%" PRIu64 ", %" PRIu64 ") %.3f..%.3f "
          "ms",
          c->worker, c->begin, c->stop, (double)c->start * 1e-6,
          (double)c->end * 1e-6);
  if (c->victim >= 0)
    fprintf(s->f, ", stolen from %" PRId32, c->victim);
  if (c->search > 0)
    fprintf(s->f, ", searched %" PRIu64 " ns", c->search);
  fprintf(s->f, "</title></rect>\n");
}

/* chunks [first, last) of one lane, sorted by start, merged into one bar
 * while the merged run stays under a pixel wide. */
static void svg_lane_merged(const svg *s, const chunk *c, size_t count,
                            double y) {
  size_t i = 0;
  unsigned shade = 0;
  while (i < count) {
    size_t j = i + 1;
    uint64_t end = c[i].end;
    int any_stolen = c[i].victim >= 0;
    while (j < count && px(s, c[j].end) - px(s, c[i].start) < 1.0 &&
           px(s, c[j].start) - px(s, end) < 0.5) {
      end = c[j].end > end ? c[j].end : end;
      any_stolen |= c[j].victim >= 0;
      j++;
    }
    if (j == i + 1) {
      svg_bar(s, &c[i], y, shade++, 0);
    } else {
      double x = px(s, c[i].start), w = px(s, end) - x;
      fprintf(s->f,
              "<rect class=\"merged\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
              "height=\"%.0f\" fill=\"%s\"/>\n",
              x, y, w > 0.3 ? w : 0.3, SVG_BAR,
              any_stolen ? "#c8741a" : "#3a72ad");
    }
    i = j;
  }
}

/* Words from the trace, escaped for XML text. */
static void svg_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else
      fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f); /* ASCII: valid UTF-8 */
  }
}

static void write_svg(trace *t, const lane *l, FILE *f) {
  qsort(t->c, t->count, sizeof *t->c, by_worker_start);
  double height = SVG_TOP + SVG_LANE * (double)t->workers + 60;
  svg s = {f, 0, SVG_LEFT};
  s.scale = (SVG_WIDTH - SVG_LEFT - SVG_RIGHT) /
            (double)(t->makespan ? t->makespan : 1);
  int merge = t->count > SVG_MERGE_ABOVE;
  int titles = t->count <= SVG_TITLES_UPTO;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"11\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text class=\"summary\" x=\"%.0f\" y=\"20\" font-size=\"13\">",
          SVG_WIDTH, height, SVG_LEFT);
  svg_text(f, t->kernel);
  fprintf(f, ", schedule ");
  svg_text(f, t->schedule);
  fprintf(f,
          ", %" PRIu64 " workers, n %" PRIu64 ", makespan %.3f ms, "
          "imbalance %.1f%%, %zu chunks%s</text>\n",
          t->workers, t->n, (double)t->makespan * 1e-6, imbalance(t, l),
          t->count, merge ? " (sub-pixel runs merged)" : "");
  fprintf(f,
          "<text x=\"%.0f\" y=\"36\" fill=\"#555\">blue: own chunks, "
          "orange: stolen, red: searching for work, gray: idle</text>\n",
          SVG_LEFT);
  size_t i = 0;
  for (uint64_t w = 0; w < t->workers; w++) {
    double y = SVG_TOP + SVG_LANE * (double)w;
    fprintf(f,
            "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">w%" PRIu64
            "</text>\n<rect class=\"lane\" x=\"%.1f\" y=\"%.1f\" "
            "width=\"%.1f\" height=\"%.0f\" fill=\"#eeeeee\"/>\n",
            SVG_LEFT - 6, y + SVG_BAR - 3, w, SVG_LEFT, y,
            SVG_WIDTH - SVG_LEFT - SVG_RIGHT, SVG_BAR);
    size_t first = i;
    while (i < t->count && t->c[i].worker == w)
      i++;
    if (merge) {
      svg_lane_merged(&s, &t->c[first], i - first, y);
      continue;
    }
    for (size_t k = first; k < i; k++)
      svg_bar(&s, &t->c[k], y, (unsigned)(k - first), titles);
  }
  svg_axis(&s, t, SVG_TOP + SVG_LANE * (double)t->workers + 4);
  fprintf(f, "</svg>\n");
}

/* --- the command ---------------------------------------------------------- */

/* What may stand at an output path: nothing, or a regular file that the
 * output replaces. A symbolic link, directory, FIFO or device is refused
 * and left as it is. Returns NULL or why not. */
static const char *output_refused(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? NULL : strerror(errno);
  if (S_ISLNK(st.st_mode))
    return "is a symbolic link; not replaced";
  if (!S_ISREG(st.st_mode))
    return S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file; "
                                                    "not replaced";
  return NULL;
}

/* Writes the output to a temporary file beside path, then renames it over
 * path, so that a failure leaves no half-written file and nothing but a
 * regular file is ever replaced. */
static int write_file(const char *path, trace *t, const lane *l,
                      void (*fn)(trace *, const lane *, FILE *)) {
  const char *why = output_refused(path);
  if (why != NULL)
    return tool_fail("report", 1, "%s: %s", path, why);
  size_t len = strlen(path) + sizeof ".sharc-tmp-XXXXXX";
  char *tmp = malloc(len);
  if (tmp == NULL)
    return tool_fail("report", 1, "out of memory");
  snprintf(tmp, len, "%s.sharc-tmp-XXXXXX", path);
  int fd = mkstemp(tmp);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (f == NULL) {
    int err = errno;
    if (fd >= 0) {
      close(fd);
      unlink(tmp);
    }
    free(tmp);
    return tool_fail("report", 1, "cannot write %s: %s", path, strerror(err));
  }
  (void)fchmod(fd, 0644);
  fn(t, l, f);
  int bad = ferror(f) | (fclose(f) != 0);
  int err = errno;
  why = bad ? strerror(err) : output_refused(path);
  if (why == NULL && rename(tmp, path) != 0)
    why = strerror(errno);
  if (why != NULL)
    unlink(tmp);
  free(tmp);
  return why ? tool_fail("report", 1, "cannot write %s: %s", path, why) : 0;
}

static void chrome_fn(trace *t, const lane *l, FILE *f) {
  (void)l;
  write_chrome(t, f);
}

int sharc_cmd_report(int argc, char **argv) {
  static const struct option longs[] = {
      {"svg", required_argument, NULL, 's'},
      {"chrome", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *svg_out = NULL, *chrome_out = NULL;
  opterr = 0;
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
    case 's':
      svg_out = optarg;
      break;
    case 'c':
      chrome_out = optarg;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    default:
      return tool_fail("report", 2,
                       "unknown or incomplete option '%s' (try 'sharc report "
                       "--help')",
                       argv[optind - 1]);
    }
  }
  if (argc - optind != 1)
    return tool_fail("report", 2,
                     "expected one trace FILE (try 'sharc "
                     "report --help')");
  trace t;
  memset(&t, 0, sizeof t);
  t.path = argv[optind];
  int rc = read_trace(&t);
  lane *l = rc == 0 ? make_lanes(&t) : NULL;
  if (rc == 0 && l == NULL)
    rc = tool_fail("report", 1, "out of memory");
  if (rc == 0 && chrome_out != NULL)
    rc = write_file(chrome_out, &t, l, chrome_fn);
  if (rc == 0 && svg_out != NULL)
    rc = write_file(svg_out, &t, l, write_svg);
  if (rc == 0 && svg_out == NULL && chrome_out == NULL)
    print_summary(&t, l);
  free(l);
  free(t.c);
  return rc;
}
