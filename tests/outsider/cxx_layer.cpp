// The C++ layer <sharc++.hpp> against the installed library: ownership,
// arguments, schedules, reports, and every failure as a sharc::error with
// the right code.
//
// usage: cxx_layer WORK_DIR (a directory for a .npy file)
#include <sharc++.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

static int passed = 0, failed = 0;
static void expect(bool cond, const std::string &what) {
  if (cond) {
    passed++;
  } else {
    failed++;
    std::printf("FAIL: %s\n", what.c_str());
  }
}
// The code of the sharc::error f throws, or 0 when it throws none.
template <class F> static int code_of(F f) {
  try {
    f();
  } catch (const sharc::error &e) {
    return e.code();
  }
  return 0;
}

struct affine_args {
  std::int64_t mul, add;
};

// v[i] = mul * i + add
static int affine(const sharc::task &t, std::uint64_t b, std::uint64_t e) {
  std::int64_t *v = t.array<std::int64_t>(0);
  if (v == nullptr)
    return SHARC_EINVAL;
  const affine_args &a = t.args<affine_args>();
  for (std::uint64_t i = b; i < e; i++)
    v[i] = a.mul * static_cast<std::int64_t>(i) + a.add;
  return 0;
}
SHARC_CXX_KERNEL(affine)

static int throws(const sharc::task &, std::uint64_t, std::uint64_t) {
  throw std::runtime_error("from a kernel");
}
SHARC_CXX_KERNEL(throws)

int main(int argc, char **argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  try {
    sharc::pool first(2);
    sharc::pool pool(std::move(first)); // moved: one pool, two workers
    expect(first.get() == nullptr, "a moved-from pool is empty");
    expect(pool.size() == 2, "the pool has 2 workers");

    const std::uint64_t n = 1000;
    sharc::array<std::int64_t> made(pool, {n});
    sharc::array<std::int64_t> v(std::move(made));
    expect(v.size() == n && v.ndim() == 1 && v.extent(0) == n,
           "the array has n elements in 1 dimension");
    expect(!v.fortran_order(), "C order by default");
    sharc_array_opts fo = SHARC_ARRAY_OPTS_INIT;
    fo.fortran_order = 1;
    sharc::array<float> f(pool, {3, 4}, fo);
    expect(f.fortran_order() && f.extent(0) == 3 && f.extent(1) == 4,
           "a Fortran-order 3x4 array");

    sharc::job job;
    job.add(v).args(affine_args{3, 7}).schedule("dynamic:7");
    sharc::job copy(job); // the copy keeps its own argument bytes
    job.args(affine_args{0, 0});
    sharc::report rep;
    expect(sharc::run(pool, "affine", n, copy, &rep) == 0, "the job runs");
    expect(rep->chunks == (n + 6) / 7, "dynamic:7 makes ceil(n / 7) chunks");
    expect(rep->indices == n, "every index ran");
    bool exact = true;
    for (std::uint64_t i = 0; i < n; i++)
      exact = exact && v[i] == 3 * static_cast<std::int64_t>(i) + 7;
    expect(exact, "v[i] = 3 i + 7 for every i (the copied job's arguments)");

    expect(code_of([&] { job.schedule("sideways"); }) == SHARC_EINVAL,
           "a bad schedule throws SHARC_EINVAL");
    expect(code_of([&] { sharc::run(pool, "no_such", n, job); }) ==
               SHARC_ENOKERNEL,
           "an unknown kernel throws SHARC_ENOKERNEL");
    expect(code_of([&] { sharc::run(pool, "throws", n, job); }) ==
               SHARC_EKERNEL,
           "an exception in a kernel fails the job with SHARC_EKERNEL");
    sharc::job wrong;
    wrong.add(f).args(affine_args{1, 1}); // float, not int64
    expect(code_of([&] { sharc::run(pool, "affine", 12, wrong); }) ==
               SHARC_EKERNEL,
           "task.array<T> of another dtype is null (the kernel says so)");
    expect(sharc::run(pool, "affine", n, copy) == 0,
           "the pool still works after failed jobs");

    // A .npy file written through the C API, mapped through the layer.
    const std::string path = dir + "/cxx-layer.npy";
    std::remove(path.c_str());
    sharc_array *out = nullptr;
    const std::uint64_t shape[2] = {2, 3};
    int rc = sharc_array_create_npy(pool.get(), path.c_str(), SHARC_F64, 2,
                                    shape, 0, &out);
    expect(rc == 0, "a .npy is created");
    if (rc == 0) {
      double *d = static_cast<double *>(sharc_array_data(out));
      for (int i = 0; i < 6; i++)
        d[i] = 0.5 * i;
      expect(sharc_array_commit(out) == 0, "and committed");
      sharc_array_destroy(out);
      auto m = sharc::array<double>::open_npy(pool, path.c_str(), SHARC_READ);
      expect(m.ndim() == 2 && m.extent(0) == 2 && m.extent(1) == 3 &&
                 m[5] == 2.5,
             "array<double>::open_npy maps it with its shape and data");
      expect(code_of([&] {
               sharc::array<float>::open_npy(pool, path.c_str(), SHARC_READ);
             }) == SHARC_EDTYPE,
             "array<float>::open_npy of a float64 file throws SHARC_EDTYPE");
      std::remove(path.c_str());
    }
  } catch (const sharc::error &e) {
    expect(false, std::string("unexpected sharc::error: ") + e.what());
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
