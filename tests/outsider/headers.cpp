// Every public header, included from C++ in the order that is hardest
// (each topic header first on its own, then the umbrella), then a job run
// through the plain C API with a kernel written in C style: the C headers
// must work from C++ as they are (extern "C", no C-only constructs).
#include <sharc++.hpp>
#include <sharc.h>
#include <sharc/array.h>
#include <sharc/common.h>
#include <sharc/error.h>
#include <sharc/job.h>
#include <sharc/kernel.h>
#include <sharc/npy.h>
#include <sharc/numa.h>
#include <sharc/pool.h>
#include <sharc/reduce.h>
#include <sharc/report.h>
#include <sharc/rng.h>
#include <sharc/schedule.h>
#include <sharc/topo.h>

#include <cstdio>
#include <cstring>

static int square(const sharc_task *t, uint64_t begin, uint64_t end) {
  int64_t *v = static_cast<int64_t *>(sharc_task_array(t, 0));
  for (uint64_t i = begin; i < end; i++)
    v[i] = static_cast<int64_t>(i * i);
  return 0;
}
SHARC_KERNEL(square)

// C++ builds the _INIT macros by position, C by field name: the defaults
// the headers document must come out the same.
static int inits_ok() {
  const sharc_job_opts j = SHARC_JOB_OPTS_INIT;
  const sharc_pool_opts p = SHARC_POOL_OPTS_INIT;
  const sharc_array_opts a = SHARC_ARRAY_OPTS_INIT;
  const sharc_submit_opts s = SHARC_SUBMIT_OPTS_INIT;
  const sharc_report r = SHARC_REPORT_INIT;
  const sharc_page_census c = SHARC_PAGE_CENSUS_INIT;
  const sharc_reduce_spec d = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_HIST);
  const sharc_progress g = SHARC_PROGRESS_INIT;
  const sharc_plan l = SHARC_PLAN_INIT;
  return l.size == sizeof l && l.nworkers == 0 && l.w == nullptr && g.size == sizeof g && g.state == SHARC_JOB_QUEUED && g.done == 0 &&
         g.elapsed_s == 0.0 && j.size == sizeof j && j.schedule.kind == SHARC_SCHED_AUTO &&
         j.schedule.chunk == 0 && j.measure_rusage == 1 && j.narrays == 0 &&
         j.nreduce == 0 && j.census == 0 && j.fault.retries == 0 &&
         j.fault.on_poison == SHARC_POISON_QUARANTINE && p.size == sizeof p &&
         p.workers == 0 && p.start == SHARC_START_FORK && p.pin == 1 &&
         p.spin_us == 100 && a.size == sizeof a &&
         a.backing == SHARC_BACKING_ANON && a.fortran_order == 0 &&
         s.size == sizeof s && s.nowait == 0 && r.size == sizeof r &&
         r.workers == nullptr && c.size == sizeof c && c.on_node == nullptr &&
         d.kind == SHARC_REDUCE_HIST && d.width == 0;
}

int main() {
  if (!inits_ok()) {
    std::fprintf(stderr, "headers: an _INIT macro differs in C++\n");
    return 1;
  }
  char msg[256];
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  sharc_pool *pool = nullptr;
  if (sharc_pool_create(&pool, &po, msg, sizeof msg) != 0) {
    std::fprintf(stderr, "headers: %s\n", msg);
    return 1;
  }
  const uint64_t n = 10007;
  sharc_array *a = nullptr;
  int rc = sharc_array_create(pool, SHARC_I64, 1, &n, nullptr, &a);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  sharc_array *arrays[1] = {a};
  o.arrays = arrays;
  o.narrays = 1;
  if (rc == 0)
    rc = sharc_run(pool, "square", n, &o, nullptr);
  uint64_t wrong = 0;
  const int64_t *v =
      static_cast<const int64_t *>(rc == 0 ? sharc_array_data(a) : nullptr);
  for (uint64_t i = 0; v != nullptr && i < n; i++)
    wrong += v[i] != static_cast<int64_t>(i * i);
  std::printf("headers: rc %d (%s), %llu wrong, library %s\n", rc,
              sharc_err_name(rc), static_cast<unsigned long long>(wrong),
              sharc_version());
  sharc_pool_destroy(pool);
  return rc != 0 || wrong != 0 ||
         std::strcmp(sharc_version(), SHARC_VERSION_STRING) != 0;
}
