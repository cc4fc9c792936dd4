// y = a*x + y over two shared arrays on a pool of worker processes, with
// the C++ layer <sharc++.hpp>: the complete example of
// docs/getting-started-cpp.md.
//
//   c++ -std=c++17 getting-started.cpp $(pkg-config --cflags --libs sharc)
//   ./a.out 1000000
//
// Exits 0 when every element of y holds a*i + 1 exactly.
#include <cstdio>
#include <cstdlib>

#include <sharc++.hpp>

struct saxpy_args {
  double a;
};

// Runs in the workers, one index range at a time; the arrays are the
// coordinator's, mapped in every worker, never copied.
static int saxpy(const sharc::task &t, std::uint64_t begin, std::uint64_t end) {
  const double a = t.args<saxpy_args>().a;
  const double *x = t.array<double>(0);
  double *y = t.array<double>(1);
  for (std::uint64_t i = begin; i < end; i++)
    y[i] = a * x[i] + y[i];
  return 0;
}
SHARC_CXX_KERNEL(saxpy) // registered before main(): every worker knows it

int main(int argc, char **argv) {
  const std::uint64_t n =
      argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  try {
    sharc::pool pool;                  // one worker per usable PU
    sharc::array<double> x(pool, {n}); // shared, zero-filled
    sharc::array<double> y(pool, {n});
    for (std::uint64_t i = 0; i < n; i++) {
      x[i] = static_cast<double>(i);
      y[i] = 1.0;
    }
    sharc::job job;
    job.add(x).add(y).args(saxpy_args{2.0}); // arrays 0 and 1, arguments
    sharc::report rep;
    sharc::run(pool, "saxpy", n, job, &rep); // throws sharc::error
    std::printf("saxpy: %llu elements on %u workers in %.3f ms\n",
                static_cast<unsigned long long>(n), rep->nworkers,
                rep->wall_s * 1e3);
    std::uint64_t wrong = 0;
    for (std::uint64_t i = 0; i < n; i++)
      wrong += y[i] != 2.0 * static_cast<double>(i) + 1.0;
    std::printf("saxpy: %llu wrong elements\n",
                static_cast<unsigned long long>(wrong));
    return wrong != 0;
  } catch (const sharc::error &e) {
    std::fprintf(stderr, "saxpy: %s\n", e.what());
    return 1;
  }
}
