// oneTBB side of the scheduling suite: parallel_for over [0, n) with the
// default auto_partitioner, in an arena of exactly as many threads as sharc
// has workers, each pinned to the same PU as the sharc worker of its slot.
// The body calls the same per-range code as sharc's kernels
// (kernels/ranges.h through sched_work.h).
#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include <sched.h>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_scheduler_observer.h>

#include "sched_work.h"

namespace {

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Pins each thread entering the arena to the PU of its slot.
class pinner : public tbb::task_scheduler_observer {
public:
  pinner(tbb::task_arena &arena, std::vector<int> pus)
      : tbb::task_scheduler_observer(arena), pus_(std::move(pus)) {
    observe(true);
  }
  ~pinner() override { observe(false); }
  void on_scheduler_entry(bool) override {
    int slot = tbb::this_task_arena::current_thread_index();
    if (slot < 0 || static_cast<size_t>(slot) >= pus_.size() ||
        pus_[static_cast<size_t>(slot)] < 0)
      return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(pus_[static_cast<size_t>(slot)], &set);
    (void)sched_setaffinity(0, sizeof set, &set);
  }

private:
  std::vector<int> pus_;
};

struct tbb_state {
  unsigned workers = 0;
  std::unique_ptr<tbb::global_control> limit;
  std::unique_ptr<tbb::task_arena> arena;
  std::unique_ptr<pinner> pin;
};

tbb_state *state;

} // namespace

extern "C" int sched_tbb_available(void) { return 1; }

extern "C" int sched_tbb_init(unsigned workers, const int *pus) {
  if (state != nullptr || workers == 0)
    return -1;
  state = new tbb_state;
  state->workers = workers;
  state->limit = std::make_unique<tbb::global_control>(
      tbb::global_control::max_allowed_parallelism, workers);
  // One slot reserved for the calling thread: it works as OpenMP's master
  // does, so the arena has `workers` threads in all.
  state->arena =
      std::make_unique<tbb::task_arena>(static_cast<int>(workers), 1);
  state->arena->initialize();
  state->pin = std::make_unique<pinner>(*state->arena,
                                        std::vector<int>(pus, pus + workers));
  return 0;
}

extern "C" int sched_tbb_run(const sched_work *w, double *makespan,
                             double *busy) {
  if (state == nullptr)
    return -1;
  const unsigned W = state->workers;
  // Per-slot sums, each on its own cache line.
  struct alignas(64) slot_sum {
    std::atomic<double> s{0.0};
  };
  std::vector<slot_sum> sums(W);
  double t0 = now_s();
  state->arena->execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<uint64_t>(0, w->n),
        [&](const tbb::blocked_range<uint64_t> &r) {
          int slot = tbb::this_task_arena::current_thread_index();
          double c0 = now_s();
          sched_work_range(w, r.begin(), r.end(), static_cast<uint64_t>(slot));
          double d = now_s() - c0;
          if (slot >= 0 && static_cast<unsigned>(slot) < W) {
            auto &s = sums[static_cast<size_t>(slot)].s;
            s.store(s.load(std::memory_order_relaxed) + d,
                    std::memory_order_relaxed);
          }
        },
        tbb::auto_partitioner());
  });
  *makespan = now_s() - t0;
  for (unsigned t = 0; t < W; t++)
    busy[t] = sums[t].s.load();
  return 0;
}

extern "C" void sched_tbb_fini(void) {
  delete state;
  state = nullptr;
}
