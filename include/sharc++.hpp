/* sharc++.hpp: a header-only C++17 convenience layer over the C API.
 *
 * The C headers work from C++ as they are (<sharc.h>); this adds ownership
 * and errors the C++ way:
 *   sharc::pool       RAII pool (sharc_pool_create / sharc_pool_destroy)
 *   sharc::array<T>   RAII typed array of a pool, T one of the dtypes
 *   sharc::job        job options: arrays, argument bytes, schedule
 *   sharc::report     RAII report
 *   sharc::task       what a C++ kernel receives
 *   sharc::run()      runs a job; throws sharc::error on failure
 *   SHARC_CXX_KERNEL(fn) registers int fn(const sharc::task &, uint64_t,
 *                     uint64_t) under the name "fn"
 *
 * Everything here is inline; nothing is added to libsharc. Errors are
 * thrown as sharc::error carrying the sharc code and the pool's message.
 * A kernel runs in a worker process: an exception escaping it is caught
 * there and fails its range with SHARC_EKERNEL (it cannot cross into the
 * library's C frames). */
#ifndef SHARC_CXX_HPP
#define SHARC_CXX_HPP

#include <sharc.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sharc {

/* A failed sharc call: code() is the sharc code (sharc/error.h). */
class error : public std::runtime_error {
public:
  error(int code, const std::string &what)
      : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

private:
  int code_;
};

namespace detail {
inline void check(int rc, const char *what, const char *detail = nullptr) {
  if (rc >= 0)
    return;
  std::string msg = std::string(what) + ": " + sharc_strerror(rc);
  if (detail != nullptr && detail[0] != '\0')
    msg += std::string(" (") + detail + ")";
  throw error(rc, msg);
}
} // namespace detail

/* The dtype of a C++ element type, for sharc::array<T>. */
template <class T> struct dtype_of;
#define SHARC__CXX_DTYPE(T, D)                                                 \
  template <> struct dtype_of<T> { static constexpr sharc_dtype value = D; };
SHARC__CXX_DTYPE(bool, SHARC_BOOL)
SHARC__CXX_DTYPE(std::int8_t, SHARC_I8)
SHARC__CXX_DTYPE(std::int16_t, SHARC_I16)
SHARC__CXX_DTYPE(std::int32_t, SHARC_I32)
SHARC__CXX_DTYPE(std::int64_t, SHARC_I64)
SHARC__CXX_DTYPE(std::uint8_t, SHARC_U8)
SHARC__CXX_DTYPE(std::uint16_t, SHARC_U16)
SHARC__CXX_DTYPE(std::uint32_t, SHARC_U32)
SHARC__CXX_DTYPE(std::uint64_t, SHARC_U64)
SHARC__CXX_DTYPE(float, SHARC_F32)
SHARC__CXX_DTYPE(double, SHARC_F64)
#undef SHARC__CXX_DTYPE

/* A pool of pinned worker processes; move-only. Register kernels before
 * making it: workers are forked when it starts. */
class pool {
public:
  /* workers 0: one per usable PU. */
  explicit pool(unsigned workers = 0) {
    sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
    o.workers = workers;
    start(&o);
  }
  explicit pool(const sharc_pool_opts &o) { start(&o); }
  ~pool() { sharc_pool_destroy(p_); }
  pool(const pool &) = delete;
  pool &operator=(const pool &) = delete;
  pool(pool &&other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  pool &operator=(pool &&other) noexcept {
    if (this != &other) {
      sharc_pool_destroy(p_);
      p_ = std::exchange(other.p_, nullptr);
    }
    return *this;
  }

  sharc_pool *get() const noexcept { return p_; }
  unsigned size() const noexcept { return sharc_pool_size(p_); }
  const char *errmsg() const noexcept { return sharc_pool_errmsg(p_); }

private:
  void start(const sharc_pool_opts *o) {
    char msg[256] = "";
    detail::check(sharc_pool_create(&p_, o, msg, sizeof msg),
                  "sharc_pool_create", msg);
  }
  sharc_pool *p_ = nullptr;
};

/* A typed array of a pool; move-only. Destroy arrays before their pool
 * (declare the pool first), or let the pool destroy them: an array whose
 * pool is gone must only be destroyed, never used. */
template <class T> class array {
  static_assert(std::is_arithmetic<T>::value, "sharc::array<T>: T is a dtype");

public:
  /* A zero-filled array of the given shape (C order unless
   * opts.fortran_order). */
  array(pool &p, std::initializer_list<std::uint64_t> shape,
        const sharc_array_opts &opts = SHARC_ARRAY_OPTS_INIT)
      : array(p, std::vector<std::uint64_t>(shape), opts) {}
  array(pool &p, const std::vector<std::uint64_t> &shape,
        const sharc_array_opts &opts = SHARC_ARRAY_OPTS_INIT) {
    detail::check(sharc_array_create(p.get(), dtype_of<T>::value,
                                     static_cast<int>(shape.size()),
                                     shape.data(), &opts, &a_),
                  "sharc_array_create", sharc_pool_errmsg(p.get()));
  }
  /* Maps a .npy file in place (SHARC_READ or SHARC_RDWR); its dtype must
   * be T's. */
  static array open_npy(pool &p, const char *path, int flags) {
    sharc_array *a = nullptr;
    detail::check(sharc_array_open_npy(p.get(), path, flags, &a),
                  "sharc_array_open_npy", sharc_pool_errmsg(p.get()));
    return array(a);
  }
  ~array() { sharc_array_destroy(a_); }
  array(const array &) = delete;
  array &operator=(const array &) = delete;
  array(array &&other) noexcept : a_(std::exchange(other.a_, nullptr)) {}
  array &operator=(array &&other) noexcept {
    if (this != &other) {
      sharc_array_destroy(a_);
      a_ = std::exchange(other.a_, nullptr);
    }
    return *this;
  }

  sharc_array *get() const noexcept { return a_; }
  T *data() const noexcept { return static_cast<T *>(sharc_array_data(a_)); }
  std::uint64_t size() const noexcept { return sharc_array_size(a_); }
  int ndim() const noexcept { return sharc_array_ndim(a_); }
  std::uint64_t extent(int d) const noexcept {
    return sharc_array_shape(a_)[d];
  }
  bool fortran_order() const noexcept {
    return sharc_array_fortran_order(a_) != 0;
  }
  T &operator[](std::uint64_t i) const noexcept { return data()[i]; }
  T *begin() const noexcept { return data(); }
  T *end() const noexcept { return data() + size(); }

private:
  explicit array(sharc_array *a) : a_(a) {
    if (sharc_array_dtype(a_) != dtype_of<T>::value) {
      sharc_array_destroy(a_);
      a_ = nullptr;
      throw error(SHARC_EDTYPE, "sharc::array: the file's dtype is not T's");
    }
  }
  sharc_array *a_ = nullptr;
};

/* Job options: the arrays a kernel sees (in the order added), argument
 * bytes (copied here, then once per job into the workers) and a schedule. */
class job {
public:
  job() : o_(SHARC_JOB_OPTS_INIT) {}
  template <class T> job &add(const array<T> &a) {
    if (arrays_.size() >= SHARC_MAX_JOB_ARRAYS)
      detail::check(SHARC_ERANGE, "sharc::job::add");
    arrays_.push_back(a.get());
    rebind();
    return *this;
  }
  /* A trivially copyable struct of arguments; sharc::task::args<A>() reads
   * it back in the kernel. */
  template <class A> job &args(const A &a) {
    static_assert(std::is_trivially_copyable<A>::value,
                  "sharc::job::args: arguments are copied as bytes");
    bytes_.resize(sizeof a);
    std::memcpy(bytes_.data(), &a, sizeof a);
    o_.args = bytes_.data();
    o_.args_len = bytes_.size();
    return *this;
  }
  /* "auto", "dynamic:64", ... as sharc_schedule_parse() reads them. */
  job &schedule(const char *text) {
    detail::check(sharc_schedule_parse(text, &o_.schedule),
                  "sharc_schedule_parse", text);
    return *this;
  }
  /* Everything else (fault policy, grain, reductions): the C struct. */
  sharc_job_opts &opts() noexcept { return o_; }
  const sharc_job_opts *get() const noexcept { return &o_; }

  job(const job &other)
      : o_(other.o_), bytes_(other.bytes_), arrays_(other.arrays_) {
    rebind();
  }
  job &operator=(const job &other) {
    o_ = other.o_;
    bytes_ = other.bytes_;
    arrays_ = other.arrays_;
    rebind();
    return *this;
  }
  ~job() = default;

private:
  /* The options point into this object's own vectors. */
  void rebind() {
    if (!bytes_.empty())
      o_.args = bytes_.data();
    o_.arrays = arrays_.empty() ? nullptr : arrays_.data();
    o_.narrays = static_cast<unsigned>(arrays_.size());
  }
  sharc_job_opts o_;
  std::vector<unsigned char> bytes_;
  std::vector<sharc_array *> arrays_;
};

/* What a job did; frees itself. */
class report {
public:
  report() = default;
  ~report() { sharc_report_free(&r_); }
  report(const report &) = delete;
  report &operator=(const report &) = delete;
  sharc_report *get() noexcept { return &r_; }
  const sharc_report &operator*() const noexcept { return r_; }
  const sharc_report *operator->() const noexcept { return &r_; }
  void print(FILE *out = stdout) const { sharc_report_print(&r_, out); }
  void json(FILE *out = stdout) const { sharc_report_json(&r_, out); }

private:
  sharc_report r_ = SHARC_REPORT_INIT;
};

/* Runs kernel over [0, n) on the pool and waits. Returns 0, or
 * SHARC_EQUARANTINED when the job finished without its quarantined indices
 * (listed in the report); throws sharc::error for every other failure,
 * with the pool's message. rep may be null. */
inline int run(pool &p, const char *kernel, std::uint64_t n, const job &j,
               report *rep = nullptr) {
  if (rep != nullptr)
    sharc_report_free(rep->get());
  int rc = sharc_run(p.get(), kernel, n, j.get(),
                     rep != nullptr ? rep->get() : nullptr);
  if (rc != SHARC_EQUARANTINED)
    detail::check(rc, "sharc_run", sharc_pool_errmsg(p.get()));
  return rc;
}

/* The task handle a C++ kernel receives: valid only during the call. */
class task {
public:
  explicit task(const sharc_task *t) noexcept : t_(t) {}
  /* The job's i-th array as T* (nullptr if out of range or not a T). */
  template <class T> T *array(unsigned i) const noexcept {
    if (sharc_task_array_dtype(t_, i) != dtype_of<T>::value)
      return nullptr;
    return static_cast<T *>(sharc_task_array(t_, i));
  }
  std::uint64_t size(unsigned i) const noexcept {
    return sharc_task_array_size(t_, i);
  }
  /* The arguments given to sharc::job::args<A>(). */
  template <class A> const A &args() const noexcept {
    return *static_cast<const A *>(sharc_task_args(t_, nullptr));
  }
  std::uint64_t n() const noexcept { return sharc_task_n(t_); }
  unsigned worker() const noexcept { return sharc_task_worker(t_); }
  unsigned nworkers() const noexcept { return sharc_task_nworkers(t_); }
  int numa() const noexcept { return sharc_task_numa(t_); }
  const sharc_task *get() const noexcept { return t_; }

private:
  const sharc_task *t_;
};

using kernel_fn = int (*)(const task &, std::uint64_t, std::uint64_t);

namespace detail {
template <kernel_fn F>
int trampoline(const sharc_task *t, std::uint64_t begin,
               std::uint64_t end) noexcept {
  try {
    return F(task(t), begin, end);
  } catch (...) {
    return SHARC_EKERNEL;
  }
}
} // namespace detail

/* Registers F under name: returns 0 or a sharc code (as
 * sharc_kernel_register). Call it before making the pool. */
template <kernel_fn F> int register_kernel(const char *name) noexcept {
  return sharc_kernel_register(name, &detail::trampoline<F>);
}

} // namespace sharc

/* Registers the C++ kernel fn under its own name before main() runs. */
#define SHARC_CXX_KERNEL(fn)                                                   \
  [[maybe_unused]] static const int sharc__cxx_kernel_##fn =                   \
      ::sharc::register_kernel<fn>(#fn);
#endif
