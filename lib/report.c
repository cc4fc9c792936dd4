/* Reports: built from the checked control block; JSON and a table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report_int.h"

static void fill_worker(const sharc_pool *pool, unsigned w,
                        sharc_worker_report *wr, double wall) {
  const sharc__slot *s = &pool->cb->slots[w];
  wr->worker = w;
  /* A worker that died during the pass is named by the pid it ran with. */
  wr->pid = pool->w[w].pid > 0 ? (int)pool->w[w].pid : (int)s->pid;
  wr->pu = pool->opts.pin ? pool->plan.w[w].pu : -1;
  wr->numa = pool->plan.w[w].numa;
  if (pool->w[w].pid <= 0)
    return; /* died during the pass: it published no figures */
  wr->chunks = s->chunks;
  wr->indices = s->indices;
  wr->steals = s->steals;
  wr->busy_s = (double)s->busy_ns * 1e-9;
  wr->dispatch_s = (double)(s->wake_ns + s->claim_ns) * 1e-9;
  wr->idle_s = wall - wr->busy_s - wr->dispatch_s;
  if (wr->idle_s < 0)
    wr->idle_s = 0;
  wr->cpu_s = (double)s->cpu_ns * 1e-9;
  wr->peak_rss = s->peak_rss;
  wr->private_bytes = s->private_bytes;
}

/* One sentence when the job was too small or too fine-grained to pay off:
 * what users would otherwise have to infer from the figures. */
static void advise(sharc_report *rep) {
  double busy = rep->compute_share * rep->wall_s * rep->nworkers;
  if (rep->n < rep->nworkers) {
    sharc__text_set(&rep->advice,
             "Only %llu %s for %u workers: some workers had nothing to "
             "do; use fewer workers or more indices.",
             (unsigned long long)rep->n, rep->n == 1 ? "index" : "indices",
             rep->nworkers);
  } else if (rep->chunks > rep->nworkers && rep->dispatch_s > 0.2 * busy) {
    sharc__text_set(&rep->advice,
             "Too fine-grained: dispatch took %.0f%% as long as the kernel "
             "itself; give each chunk more work (a larger chunk or cheaper "
             "schedule).", busy > 0 ? 100.0 * rep->dispatch_s / busy : 100.0);
  } else if (rep->wall_s < 200e-6 && rep->compute_share < 0.5) {
    sharc__text_set(&rep->advice,
             "Too small to pay off: the job took %.0f us and the workers "
             "computed only %.0f%% of it; one worker would do as well.",
             rep->wall_s * 1e6, rep->compute_share * 100.0);
  }
}

static void fill_totals(sharc_report *rep) {
  double busy_sum = 0, busy_max = 0;
  uint64_t mem = 0;
  rep->dispatch_s = 0;
  rep->chunks = rep->indices = rep->steals = 0;
  for (unsigned w = 0; w < rep->nworkers; w++) {
    const sharc_worker_report *wr = &rep->workers[w];
    busy_sum += wr->busy_s;
    busy_max = wr->busy_s > busy_max ? wr->busy_s : busy_max;
    rep->dispatch_s += wr->dispatch_s;
    rep->chunks += wr->chunks;
    rep->indices += wr->indices;
    rep->steals += wr->steals;
    mem += wr->private_bytes;
  }
  double mean = rep->nworkers ? busy_sum / rep->nworkers : 0;
  rep->imbalance_pct = mean > 0 ? (busy_max / mean - 1.0) * 100.0 : 0.0;
  rep->compute_share = rep->wall_s > 0 && rep->nworkers
                           ? busy_sum / (rep->wall_s * rep->nworkers)
                           : 0.0;
  rep->mem_per_worker = rep->nworkers ? mem / rep->nworkers : 0;
}

void sharc__report_fill(sharc_pool *pool, sharc_report *rep,
                        const char *kernel, uint64_t n,
                        const sharc_job_opts *o, const uint64_t *times,
                        int status) {
  if (rep == NULL)
    return;
  sharc__text_set(&rep->kernel, "%s", kernel ? kernel : "");
  rep->n = n;
  rep->schedule = o->schedule;
  rep->nworkers = 0; /* until there are rows to read */
  rep->status = status;
  sharc__text_set(&rep->error, "%s", status ? pool->msg : "");
  rep->startup_s = pool->startup_s;
  rep->bytes_copied = offsetof(sharc__job_desc, args) + o->args_len;
  rep->payload_bytes_copied = 0;
  if (times == NULL || status == SHARC_ECORRUPT)
    return;
  rep->measured_rusage = o->measure_rusage != 0;
  rep->passes = 1;
  rep->wall_s = (double)(times[1] - times[0]) * 1e-9;
  rep->workers = calloc(pool->nworkers, sizeof *rep->workers);
  if (rep->workers == NULL)
    return;
  rep->nworkers = pool->nworkers;
  for (unsigned w = 0; w < pool->nworkers; w++)
    fill_worker(pool, w, &rep->workers[w], rep->wall_s);
  fill_totals(rep);
  advise(rep);
  sharc__reduce_advise(rep, o);
  rep->aggregation_s = (double)(sharc__now_ns() - times[1]) * 1e-9;
}

void sharc__report_pass(sharc_pool *pool, sharc_report *rep, uint32_t seq) {
  if (rep == NULL || rep->workers == NULL)
    return;
  for (unsigned w = 0; w < rep->nworkers; w++) {
    const sharc__slot *s = &pool->cb->slots[w];
    sharc_worker_report *wr = &rep->workers[w];
    if (s->started_seq != seq)
      continue;
    wr->pid = pool->w[w].pid > 0 ? (int)pool->w[w].pid : (int)s->pid;
    if (pool->w[w].pid <= 0)
      continue;
    wr->chunks += s->chunks;
    wr->indices += s->indices;
    wr->steals += s->steals;
    wr->busy_s += (double)s->busy_ns * 1e-9;
    wr->dispatch_s += (double)(s->wake_ns + s->claim_ns) * 1e-9;
    wr->cpu_s += (double)s->cpu_ns * 1e-9;
    wr->peak_rss = s->peak_rss > wr->peak_rss ? s->peak_rss : wr->peak_rss;
    wr->private_bytes = s->private_bytes;
  }
}

void sharc__report_whole(sharc_report *rep, double wall_s) {
  if (rep == NULL || rep->workers == NULL)
    return;
  rep->wall_s = wall_s;
  for (unsigned w = 0; w < rep->nworkers; w++) {
    sharc_worker_report *wr = &rep->workers[w];
    wr->idle_s = wall_s - wr->busy_s - wr->dispatch_s;
    if (wr->idle_s < 0)
      wr->idle_s = 0;
  }
  fill_totals(rep);
}

/* What a string field holds when there is nothing to say, or no memory to
 * say it: not freed. */
const char sharc__empty[] = "";

void sharc__text_free(const char **field) {
  if (*field != NULL && *field != sharc__empty)
    free((char *)*field);
  *field = NULL;
}

void sharc__text_set(const char **field, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int len = vasprintf(&s, fmt, ap);
  va_end(ap);
  sharc__text_free(field);
  *field = len >= 0 && s != NULL && s[0] != '\0' ? s : sharc__empty;
  if (*field == sharc__empty)
    free(len >= 0 ? s : NULL);
}

int sharc__report_begin(sharc_pool *pool, sharc_report *rep) {
  if (rep == NULL)
    return 0;
  if (rep->size != sizeof *rep)
    return sharc__bad_size(pool, "report", "sharc_report", "SHARC_REPORT_INIT",
                           rep->size);
  memset(rep, 0, sizeof *rep);
  rep->size = sizeof *rep;
  rep->kernel = rep->error = rep->advice = sharc__empty;
  return 0;
}

void sharc__report_census(sharc_pool *pool, sharc_report *rep,
                          sharc_array *const *arrays, unsigned n) {
  int max = sharc_numa_max_node();
  if (rep == NULL || n == 0 || max < 0)
    return;
  unsigned nodes = (unsigned)max + 1;
  rep->census = calloc(n, sizeof *rep->census);
  if (rep->census == NULL)
    return;
  for (unsigned i = 0; i < n; i++) {
    sharc_page_census *c = &rep->census[i];
    *c = (sharc_page_census)SHARC_PAGE_CENSUS_INIT;
    c->on_node = calloc(nodes, sizeof *c->on_node);
    c->max_nodes = c->on_node != NULL ? nodes : 0;
    rep->ncensus = i + 1; /* what report_free must free */
    if (sharc_array_page_census(pool, arrays[i], c) != 0) {
      /* the page states could not be read: nothing counted */
      uint64_t *keep = c->on_node;
      *c = (sharc_page_census)SHARC_PAGE_CENSUS_INIT;
      c->on_node = keep;
      c->max_nodes = keep != NULL ? nodes : 0;
      if (keep != NULL)
        memset(keep, 0, nodes * sizeof *keep);
    }
  }
}

static void census_free(sharc_report *rep) {
  for (unsigned i = 0; rep->census != NULL && i < rep->ncensus; i++)
    free(rep->census[i].on_node);
  free(rep->census);
}

void sharc_report_free(sharc_report *rep) {
  if (rep == NULL)
    return;
  census_free(rep);
  free(rep->workers);
  free(rep->quarantined);
  sharc__text_free(&rep->kernel);
  sharc__text_free(&rep->error);
  sharc__text_free(&rep->advice);
  size_t size = rep->size;
  memset(rep, 0, sizeof *rep);
  rep->size = size;
}

/* A report that was never filled has no strings yet. */
static const char *text(const char *s) { return s != NULL ? s : ""; }

static void json_worker(FILE *out, const sharc_worker_report *w) {
  fprintf(out,
          "{\"worker\":%u,\"pid\":%d,\"pu\":%d,\"numa\":%d,\"chunks\":%llu,"
          "\"indices\":%llu,\"steals\":%llu,\"busy_s\":%.9f,"
          "\"dispatch_s\":%.9f,"
          "\"idle_s\":%.9f,\"cpu_s\":%.6f,\"peak_rss\":%llu,"
          "\"private_bytes\":%llu}",
          w->worker, w->pid, w->pu, w->numa, (unsigned long long)w->chunks,
          (unsigned long long)w->indices, (unsigned long long)w->steals,
          w->busy_s, w->dispatch_s, w->idle_s,
          w->cpu_s, (unsigned long long)w->peak_rss,
          (unsigned long long)w->private_bytes);
}

int sharc_report_json(const sharc_report *rep, FILE *out) {
  if (rep == NULL || out == NULL)
    return SHARC_EINVAL;
  char sched[64];
  sharc_schedule_format(rep->schedule, sched, sizeof sched);
  fputs("{\"kernel\":", out);
  sharc__json_str(out, text(rep->kernel));
  fprintf(out, ",\"n\":%llu,\"schedule\":\"%s\",\"workers\":%u,\"status\":%d,"
               "\"status_name\":\"%s\",\"error\":",
          (unsigned long long)rep->n, sched, rep->nworkers, rep->status,
          sharc_err_name(rep->status));
  sharc__json_str(out, text(rep->error));
  fprintf(out,
          ",\"wall_s\":%.9f,\"startup_s\":%.9f,\"dispatch_s\":%.9f,"
          "\"aggregation_s\":%.9f,\"compute_share\":%.6f,"
          "\"imbalance_pct\":%.3f,\"chunks\":%llu,\"indices\":%llu,"
          "\"steals\":%llu,"
          "\"measured_rusage\":%s,\"mem_per_worker\":%llu,"
          "\"bytes_copied\":%llu,\"payload_bytes_copied\":%llu,\"advice\":",
          rep->wall_s, rep->startup_s, rep->dispatch_s, rep->aggregation_s,
          rep->compute_share, rep->imbalance_pct,
          (unsigned long long)rep->chunks, (unsigned long long)rep->indices,
          (unsigned long long)rep->steals, rep->measured_rusage ? "true" : "false",
          (unsigned long long)rep->mem_per_worker,
          (unsigned long long)rep->bytes_copied,
          (unsigned long long)rep->payload_bytes_copied);
  sharc__json_str(out, text(rep->advice));
  fprintf(out,
          ",\"deaths\":%u,\"recycled\":%u,\"kernel_errors\":%u,"
          "\"passes\":%u,"
          "\"retried\":%llu,\"replace_s\":%.6f,\"quarantined\":[",
          rep->deaths, rep->recycled, rep->kernel_errors, rep->passes,
          (unsigned long long)rep->retried, rep->replace_s);
  for (unsigned i = 0; rep->quarantined != NULL && i < rep->nquarantined;
       i++) {
    const sharc_quarantined *q = &rep->quarantined[i];
    fprintf(out,
            "%s{\"begin\":%llu,\"end\":%llu,\"signal\":%d,\"code\":%d,"
            "\"attempts\":%u,\"timed_out\":%s}",
            i ? "," : "", (unsigned long long)q->begin,
            (unsigned long long)q->end, q->signal, q->code, q->attempts,
            q->timed_out ? "true" : "false");
  }
  fputs("],\"per_worker\":[", out);
  for (unsigned w = 0; rep->workers != NULL && w < rep->nworkers; w++) {
    if (w > 0)
      fputc(',', out);
    json_worker(out, &rep->workers[w]);
  }
  fputs("],\"pages\":[", out);
  for (unsigned i = 0; rep->census != NULL && i < rep->ncensus; i++) {
    const sharc_page_census *c = &rep->census[i];
    fprintf(out,
            "%s{\"array\":%u,\"pages\":%llu,\"page_size\":%ld,"
            "\"as_planned\":%llu,\"elsewhere\":%llu,\"absent\":%llu,"
            "\"on_node\":[",
            i ? "," : "", i, (unsigned long long)c->pages, c->page_size,
            (unsigned long long)c->as_planned,
            (unsigned long long)c->elsewhere, (unsigned long long)c->absent);
    for (unsigned k = 0; c->on_node != NULL && k < c->max_nodes; k++)
      fprintf(out, "%s%llu", k ? "," : "", (unsigned long long)c->on_node[k]);
    fputs("]}", out);
  }
  fputs("]}", out);
  return ferror(out) ? -EIO : 0;
}

static const char *human_bytes(uint64_t b, char *buf, size_t len) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)b;
  unsigned u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
  return buf;
}

int sharc_report_print(const sharc_report *rep, FILE *out) {
  if (rep == NULL || out == NULL)
    return SHARC_EINVAL;
  char sched[64], b1[32], b2[32];
  sharc_schedule_format(rep->schedule, sched, sizeof sched);
  fprintf(out, "job '%s': n=%llu schedule=%s workers=%u  %s\n",
          text(rep->kernel), (unsigned long long)rep->n, sched, rep->nworkers,
          rep->status ? sharc_err_name(rep->status) : "ok");
  if (rep->status)
    fprintf(out, "  error: %s\n", text(rep->error));
  if (rep->workers != NULL) {
    fprintf(out, "  %6s %7s %4s %4s %10s %12s %10s %10s %10s %9s %10s\n",
            "worker", "pid", "pu", "numa", "chunks", "indices", "busy_ms",
            "dispatch", "idle_ms", "cpu_ms", "peak_rss");
    for (unsigned w = 0; w < rep->nworkers; w++) {
      const sharc_worker_report *r = &rep->workers[w];
      fprintf(out,
              "  %6u %7d %4d %4d %10llu %12llu %10.3f %10.3f %10.3f %9.3f "
              "%10s\n",
              r->worker, r->pid, r->pu, r->numa, (unsigned long long)r->chunks,
              (unsigned long long)r->indices, r->busy_s * 1e3,
              r->dispatch_s * 1e3, r->idle_s * 1e3, r->cpu_s * 1e3,
              rep->measured_rusage ? human_bytes(r->peak_rss, b1, sizeof b1)
                                   : "-");
    }
  }
  fprintf(out,
          "  wall %.3f ms | start-up %.3f ms (once per pool) | dispatch %.3f "
          "ms | aggregation %.3f ms\n",
          rep->wall_s * 1e3, rep->startup_s * 1e3, rep->dispatch_s * 1e3,
          rep->aggregation_s * 1e3);
  fprintf(out,
          "  computing %.1f%% of worker time | imbalance %.1f%% | chunks %llu "
          "| steals %llu | memory/worker %s | copied %s (array payloads: "
          "0 B)\n",
          rep->compute_share * 100.0, rep->imbalance_pct,
          (unsigned long long)rep->chunks, (unsigned long long)rep->steals,
          rep->measured_rusage ? human_bytes(rep->mem_per_worker, b1, sizeof b1)
                               : "-",
          human_bytes(rep->bytes_copied, b2, sizeof b2));
  if (rep->deaths || rep->recycled || rep->kernel_errors || rep->passes > 1)
    fprintf(out,
            "  faults: %u worker death(s), %u recycled, %u kernel error(s), "
            "%u pass(es), %llu range(s) retried, %.3f ms per replacement\n",
            rep->deaths, rep->recycled, rep->kernel_errors, rep->passes,
            (unsigned long long)rep->retried, rep->replace_s * 1e3);
  for (unsigned i = 0; rep->quarantined != NULL && i < rep->nquarantined;
       i++) {
    const sharc_quarantined *q = &rep->quarantined[i];
    if (q->end - q->begin == 1)
      fprintf(out, "  quarantined: index %llu", (unsigned long long)q->begin);
    else
      fprintf(out, "  quarantined: indices [%llu, %llu)",
              (unsigned long long)q->begin, (unsigned long long)q->end);
    if (q->signal && q->timed_out)
      fprintf(out, " (timed out, then killed by signal %d, %s; %u attempts)\n",
              q->signal, strsignal(q->signal), q->attempts);
    else if (q->signal)
      fprintf(out, " (signal %d, %s; %u attempts)\n", q->signal,
              strsignal(q->signal), q->attempts);
    else
      fprintf(out, " (kernel returned %d, %s; %u attempts)\n", q->code,
              sharc_strerror(q->code), q->attempts);
  }
  for (unsigned i = 0; rep->census != NULL && i < rep->ncensus; i++) {
    const sharc_page_census *c = &rep->census[i];
    fprintf(out,
            "  pages of array %u: %llu, as planned %llu, elsewhere %llu, "
            "not in memory %llu |",
            i, (unsigned long long)c->pages,
            (unsigned long long)c->as_planned,
            (unsigned long long)c->elsewhere, (unsigned long long)c->absent);
    for (unsigned k = 0; c->on_node != NULL && k < c->max_nodes; k++)
      fprintf(out, " node %u: %llu", k, (unsigned long long)c->on_node[k]);
    fputc('\n', out);
  }
  if (text(rep->advice)[0])
    fprintf(out, "  note: %s\n", rep->advice);
  return ferror(out) ? -EIO : 0;
}
