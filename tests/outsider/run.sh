#!/usr/bin/env bash
# Outsider tests: sharc installed into a prefix, then used by projects that
# know only that prefix, as a user's would (no source tree, no build tree).
#
# usage: bash tests/outsider/run.sh STEP BUILD_DIR WORK_DIR
#   install      cmake --install BUILD_DIR into WORK_DIR/prefix, check it
#   pkgconfig    the C example through pkg-config: sharc.pc (shared),
#                sharc-static.pc (libsharc.a), sharc.pc --static
#   cmake-shared the examples through find_package, sharc::sharc
#   cmake-static the examples through find_package, sharc::sharc_static
#   cxx-headers  every public header from C++17 and C99, a C++ job through
#                the C API, and the C++ layer's test (tests/outsider/cxx_layer.cpp)
#   fortran      the Fortran module and its test program, through pkg-config
#   mpi          docs/examples/mpi.c built with mpicc through sharc_mpi.pc and
#                through find_package (sharc::sharc_mpi), run with mpirun -np 2
#
# Environment: CC, CXX, FC (compilers, default cc, c++, gfortran);
# SHARC_OUTSIDER_FLAGS: flags for every compile and link (the sanitizers,
# when the library was built with them); SHARC_OUTSIDER_LANGS: which of
# "cxx fortran" the cmake steps build (default both).
# CC, CXX, FC and the flag lists are split into words on purpose.
# shellcheck disable=SC2086
set -u

if [ $# -ne 3 ]; then
  echo "usage: $0 STEP BUILD_DIR WORK_DIR" >&2
  exit 2
fi
STEP=$1
BUILD=$(cd "$2" && pwd)
mkdir -p "$3"
WORK=$(cd "$3" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EXAMPLES=$ROOT/docs/examples
PREFIX=$WORK/prefix
CC=${CC:-cc}
CXX=${CXX:-c++}
FC=${FC:-gfortran}
FLAGS=${SHARC_OUTSIDER_FLAGS:-}
LANGS=${SHARC_OUTSIDER_LANGS:-cxx fortran}
# Strict, so that a header that warns fails here; none of it is imposed on
# users (the installed targets and sharc.pc carry no warning flags).
STRICT="-Wall -Wextra -Wpedantic -Werror"

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  echo "FAIL: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$2" ]; then sed 's/^/    /' "$2" >&2; fi
}
finish() {
  echo "$pass passed, $fail failed"
  exit $((fail > 0))
}
# check WHAT LOG CMD...: runs CMD with its output in LOG; a failure shows it.
check() {
  local what=$1 log=$2
  shift 2
  if "$@" >"$log" 2>&1; then ok; else bad "$what" "$log"; fi
}
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# run_example WHAT BINARY LINK: the example exits 0 only when its results
# are exact; LINK (shared or static) says whether it may need libsharc.so.
run_example() {
  local what=$1 bin=$2 link=$3 log
  log=$WORK/$(basename "$bin").run.log
  check "$what runs and its results are exact" "$log" "$bin" 100000
  if [ "$link" = shared ]; then
    if needed "$bin" | grep -qx 'libsharc\.so\.[0-9]*'; then ok; else
      bad "$what needs libsharc.so.MAJOR"
    fi
  else
    if needed "$bin" | grep -q libsharc; then
      bad "$what is linked with libsharc.a, not libsharc.so"
    else ok; fi
  fi
}

# shows PAGE FILE FENCE: the page's first ```FENCE block is exactly FILE,
# so that what the getting-started pages show is what is built here.
shows() {
  local page=$ROOT/docs/$1 file=$EXAMPLES/$2 shown
  shown=$(awk -v f="\`\`\`$3" '$0 == f { b = 1; next } b && /^```$/ { exit } b' "$page")
  if [ -n "$shown" ] && [ "$shown" = "$(cat "$file")" ]; then ok; else
    bad "docs/$1 shows docs/examples/$2 exactly"
  fi
}

mkdir -p "$WORK"
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
# Installed programs and the shared examples find libsharc.so here, as
# with any library outside the system's paths.
export LD_LIBRARY_PATH=$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

step_install() {
  rm -rf "$PREFIX"
  check "cmake --install into $PREFIX" "$WORK/install.log" \
    cmake --install "$BUILD" --prefix "$PREFIX"
  local so=$PREFIX/lib/libsharc.so f
  for f in include/sharc.h include/sharc/pool.h include/sharc++.hpp \
    lib/libsharc.a lib/libsharc.so bin/sharc share/man/man1/sharc.1 \
    lib/pkgconfig/sharc.pc lib/pkgconfig/sharc-static.pc \
    lib/cmake/sharc/sharcConfig.cmake lib/cmake/sharc/sharcConfigVersion.cmake \
    lib/cmake/sharc/sharcTargets.cmake share/sharc/fortran/sharc.f90 \
    bin/sharc-worker lib/sharc/sharc-kernels.so; do
    if [ -e "$PREFIX/$f" ]; then ok; else bad "installed: $f"; fi
  done
  # Every start method from the installed tool: spawn finds sharc-worker
  # beside it and the kernels module under lib/sharc, not the build tree's.
  local m
  for m in fork forkserver spawn; do
    check "installed sharc run pi --start $m" "$WORK/start-$m.log" \
      env -u SHARC_WORKER -u SHARC_KERNEL_PATH -u SHARC_START \
      "$PREFIX/bin/sharc" run pi --n 100000 --workers 2 --start "$m"
  done
  # A program elsewhere finds sharc-worker in the bin directory beside the
  # library it loaded.
  cat >"$WORK/spawn.c" <<'EOF'
#include <sharc.h>
#include <stdio.h>
int main(int argc, char **argv) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = 2;
  o.start = SHARC_START_SPAWN;
  o.kernel_libs = argc > 1 ? argv[1] : NULL;
  sharc_pool *p;
  char msg[512];
  if (sharc_pool_create(&p, &o, msg, sizeof msg) != 0) {
    fprintf(stderr, "%s\n", msg);
    return 1;
  }
  sharc_job_opts jo = SHARC_JOB_OPTS_INIT;
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = sharc_run(p, "empty", 1000, &jo, &rep);
  if (rc == 0)
    sharc_report_free(&rep);
  else
    fprintf(stderr, "%s\n", sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
  return rc != 0;
}
EOF
  check "cc a spawn program against the prefix" "$WORK/spawn-cc.log" \
    $CC $FLAGS $STRICT -I"$PREFIX/include" "$WORK/spawn.c" -L"$PREFIX/lib" \
    -lsharc -Wl,-rpath,"$PREFIX/lib" -o "$WORK/spawn"
  check "a program outside the prefix spawns the installed sharc-worker" \
    "$WORK/spawn.log" env -u SHARC_WORKER -u SHARC_KERNEL_PATH \
    "$WORK/spawn" "$PREFIX/lib/sharc/sharc-kernels.so"
  if [ -d "$PREFIX/include" ] && ! find "$PREFIX/include" -name '*_int.h' \
    -o -name 'internal.h' | grep -q .; then ok; else
    bad "no internal header is installed"
  fi
  local soname
  soname=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  if [[ $soname =~ ^libsharc\.so\.[0-9]+$ ]] && [ -e "$PREFIX/lib/$soname" ]; then
    ok
  else
    bad "libsharc.so has a versioned SONAME that is installed (got '$soname')"
  fi
  # Every library the shared library calls into is a DT_NEEDED entry, so
  # that `cc app.c -lsharc` links and runs with nothing else.
  # (lib:a symbol it provides): a library is needed when one of its
  # symbols is used, and only then.
  local pair lib sym undef
  undef=$(nm -D --undefined-only "$so" | awk '{ sub(/@.*/, "", $2); print $2 }')
  for pair in libm:sqrt libhwloc:hwloc_topology_init libnuma:numa_available; do
    lib=${pair%%:*}
    sym=${pair#*:}
    if grep -qx "$sym" <<<"$undef"; then
      if needed "$so" | grep -q "^$lib\.so"; then ok; else
        bad "libsharc.so uses $sym and has DT_NEEDED $lib"
      fi
    elif needed "$so" | grep -q "^$lib\.so"; then
      bad "libsharc.so needs $lib only if it uses it ($sym)"
    else ok; fi
  done
  # The linker agrees: a program linking only -lsharc has every symbol
  # libsharc.so needs.
  echo 'int main(void) { return 0; }' >"$WORK/empty.c"
  check "cc -lsharc links with --no-allow-shlib-undefined" "$WORK/shlib.log" \
    $CC $FLAGS "$WORK/empty.c" -L"$PREFIX/lib" -lsharc -Wl,--no-as-needed \
    -Wl,--no-allow-shlib-undefined -o "$WORK/empty"
  local foreign
  foreign=$(nm -D --defined-only "$so" |
    awk 'NF >= 3 && $2 ~ /^[TtDdBbRrGgSsiWwVvC]$/ { sub(/@.*/, "", $3); print $3 }' |
    grep -v '^sharc_')
  if [ -z "$foreign" ]; then ok; else
    bad "the installed libsharc.so exports only sharc_ symbols: $foreign"
  fi
  check "the installed tool runs (sharc --help)" "$WORK/tool.log" \
    "$PREFIX/bin/sharc" --help
  # No warning flag or -Werror reaches users.
  local cfg
  cfg=$(cat "$PREFIX"/lib/cmake/sharc/*.cmake "$PREFIX"/lib/pkgconfig/*.pc)
  if grep -qE -- '-W(all|extra|error|pedantic)' <<<"$cfg"; then
    bad "no warning flag in the installed package files"
  else ok; fi
  local man=$PREFIX/share/man/man1/sharc.1 cmd
  if grep -q '^\.TH SHARC 1' "$man"; then ok; else
    bad "sharc.1 is a man page for section 1"
  fi
  # Every command the tool lists is described.
  for cmd in $("$PREFIX/bin/sharc" --help | awk '/^commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 }'); do
    # roff writes a hyphen in a name as \-
    if sed 's/\\-/-/g' "$man" | grep -q "^\.B $cmd\b"; then ok; else bad "sharc.1 describes sharc $cmd"; fi
  done
  if command -v groff >/dev/null; then
    check "sharc.1 renders without groff warnings" "$WORK/man.log" \
      bash -c "groff -man -Tutf8 -ww -z '$man' 2>&1 | { ! grep .; }"
  fi
}

step_pkgconfig() {
  local out=$WORK/pc
  mkdir -p "$out"
  shows getting-started-c.md getting-started.c c
  # The example is C99 as well as C11: the headers must not need C11.
  # shellcheck disable=SC2046
  check "C example builds with sharc.pc (-std=c99 $STRICT)" "$out/shared.log" \
    $CC -std=c99 $STRICT $FLAGS "$EXAMPLES/getting-started.c" \
    $(pkg-config --cflags --libs sharc) -o "$out/saxpy_shared"
  [ -x "$out/saxpy_shared" ] && run_example "pkg-config shared" "$out/saxpy_shared" shared
  # shellcheck disable=SC2046
  check "C example builds with sharc-static.pc" "$out/static.log" \
    $CC -std=c11 $STRICT $FLAGS "$EXAMPLES/getting-started.c" \
    $(pkg-config --cflags --libs sharc-static) -o "$out/saxpy_static"
  [ -x "$out/saxpy_static" ] && run_example "pkg-config static" "$out/saxpy_static" static
  # `pkg-config --static --libs sharc` lists what libsharc.a needs. (Linking
  # with exactly those flags also pulls in hwloc's own private libraries,
  # such as libudev, whose development files a system may lack; the link
  # itself is what sharc-static.pc and sharc::sharc_static are tested for.)
  local libs flag
  libs=" $(pkg-config --static --libs sharc) "
  for flag in -lsharc -lhwloc -lnuma -lm -pthread; do
    if [[ $libs == *" $flag "* ]]; then ok; else
      bad "pkg-config --static --libs sharc has $flag (got:$libs)"
    fi
  done
}

step_cmake() {
  local link=$1 out=$WORK/cmake-$1 cxx=OFF fortran=OFF
  [[ " $LANGS " == *" cxx "* ]] && cxx=ON
  [[ " $LANGS " == *" fortran "* ]] && fortran=ON
  rm -rf "$out"
  check "find_package(sharc) project configures ($link)" "$out.configure.log" \
    env CC="$CC" CXX="$CXX" FC="$FC" cmake -S "$ROOT/tests/outsider/cmake" -B "$out" \
    -DCMAKE_PREFIX_PATH="$PREFIX" -DSHARC_LINK="$link" -DEXAMPLES="$EXAMPLES" \
    -DWITH_CXX=$cxx -DWITH_FORTRAN=$fortran \
    -DCMAKE_C_FLAGS="$STRICT $FLAGS" -DCMAKE_CXX_FLAGS="$STRICT $FLAGS" \
    -DCMAKE_Fortran_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS"
  check "find_package(sharc) project builds ($link)" "$out.build.log" \
    cmake --build "$out"
  [ -x "$out/saxpy_c" ] && run_example "cmake $link C" "$out/saxpy_c" "$link"
  if [ $cxx = ON ] && [ -x "$out/saxpy_cxx" ]; then
    run_example "cmake $link C++" "$out/saxpy_cxx" "$link"
  fi
  if [ $fortran = ON ] && [ -x "$out/saxpy_f" ]; then
    run_example "cmake $link Fortran" "$out/saxpy_f" "$link"
  fi
}

step_cxx_headers() {
  local out=$WORK/cxx h name
  mkdir -p "$out"
  shows getting-started-cpp.md getting-started.cpp cpp
  # Each installed header on its own, as C99, C11 and C++17.
  local extra
  for h in "$PREFIX"/include/sharc.h "$PREFIX"/include/sharc/*.h; do
    name=${h#"$PREFIX"/include/}
    # sharc/mpi.h needs MPI's headers (sharc_mpi.pc has them). MPI's own
    # C++ bindings warn under $STRICT: C++ programs skip them, as MPI
    # documents.
    extra=
    if [ "$name" = sharc/mpi.h ]; then
      extra="$(pkg-config --cflags sharc_mpi) -DOMPI_SKIP_MPICXX -DMPICH_SKIP_MPICXX"
    fi
    # (the typedef: a header of macros alone would leave C an empty unit)
    printf '#include <%s>\ntypedef int one_header_unit;\n' "$name" >"$out/one.c"
    cp "$out/one.c" "$out/one.cpp"
    check "$name compiles alone as C99 ($STRICT)" "$out/c99.log" \
      $CC -std=c99 $STRICT -I"$PREFIX/include" $extra -fsyntax-only "$out/one.c"
    check "$name compiles alone as C11" "$out/c11.log" \
      $CC -std=c11 $STRICT -I"$PREFIX/include" $extra -fsyntax-only "$out/one.c"
    check "$name compiles alone as C++17" "$out/cxx.log" \
      $CXX -std=c++17 $STRICT -I"$PREFIX/include" $extra -fsyntax-only "$out/one.cpp"
  done
  echo "#include <sharc++.hpp>" >"$out/one.cpp"
  check "sharc++.hpp compiles alone as C++17" "$out/hpp.log" \
    $CXX -std=c++17 $STRICT -I"$PREFIX/include" -fsyntax-only "$out/one.cpp"
  # shellcheck disable=SC2046
  check "a C++ program with every header builds with sharc.pc" "$out/build.log" \
    $CXX -std=c++17 $STRICT $FLAGS "$ROOT/tests/outsider/headers.cpp" \
    $(pkg-config --cflags --libs sharc) -o "$out/headers"
  [ -x "$out/headers" ] &&
    check "the C++ program runs a job through the C API" "$out/run.log" "$out/headers"
  # shellcheck disable=SC2046
  check "the C++ layer's test builds" "$out/layer-build.log" \
    $CXX -std=c++17 $STRICT $FLAGS "$ROOT/tests/outsider/cxx_layer.cpp" \
    $(pkg-config --cflags --libs sharc) -o "$out/cxx_layer"
  if [ -x "$out/cxx_layer" ]; then
    check "the C++ layer's test passes" "$out/layer.log" "$out/cxx_layer" "$out"
    sed 's/^/    /' "$out/layer.log"
  fi
}

step_fortran() {
  local out=$WORK/fortran src
  rm -rf "$out"
  mkdir -p "$out"
  shows getting-started-fortran.md getting-started.f90 fortran
  src=$(pkg-config --variable=fortran_source sharc)
  if [ -f "$src" ]; then ok; else bad "sharc.pc names the Fortran module source ($src)"; fi
  # As a user would: the module compiled by their compiler, in their tree.
  check "the module compiles (-std=f2018 $STRICT)" "$out/module.log" \
    bash -c "cd '$out' && $FC -std=f2018 $STRICT $FLAGS -c '$src' -o sharc_mod.o"
  # shellcheck disable=SC2046
  check "the C kernel compiles" "$out/ckernel.log" \
    $CC -std=c99 $STRICT $FLAGS $(pkg-config --cflags sharc) \
    -c "$ROOT/tests/outsider/ckernel.c" -o "$out/ckernel.o"
  # The test compares reals exactly on purpose.
  # shellcheck disable=SC2046
  check "the Fortran test program builds" "$out/build.log" \
    bash -c "cd '$out' && $FC -std=f2018 $STRICT -Wno-compare-reals $FLAGS \
      '$ROOT/tests/outsider/fortran_test.f90' sharc_mod.o ckernel.o \
      $(pkg-config --libs sharc) -o fortran_test"
  if [ -x "$out/fortran_test" ]; then
    check "the Fortran test program passes" "$out/run.log" "$out/fortran_test" "$out"
    sed 's/^/    /' "$out/run.log"
  fi
  # shellcheck disable=SC2046
  check "the Fortran example builds with sharc.pc" "$out/example.log" \
    bash -c "cd '$out' && $FC -std=f2018 $STRICT $FLAGS sharc_mod.o \
      '$EXAMPLES/getting-started.f90' $(pkg-config --libs sharc) -o saxpy_f"
  [ -x "$out/saxpy_f" ] && run_example "pkg-config Fortran" "$out/saxpy_f" shared
}

step_mpi() {
  local out=$WORK/mpi f
  rm -rf "$out"
  mkdir -p "$out/src"
  shows getting-started-mpi.md mpi.c c
  for f in include/sharc/mpi.h lib/libsharc_mpi.so lib/libsharc_mpi.a \
    lib/pkgconfig/sharc_mpi.pc lib/cmake/sharc/sharc_mpiTargets.cmake; do
    if [ -e "$PREFIX/$f" ]; then ok; else bad "installed: $f"; fi
  done
  local mpirun="mpirun --oversubscribe --allow-run-as-root -np 2"
  # shellcheck disable=SC2046
  check "MPI example builds with mpicc and sharc_mpi.pc" "$out/pc.log" \
    env OMPI_CC="$CC" mpicc -std=c11 $STRICT $FLAGS "$EXAMPLES/mpi.c" \
    $(pkg-config --cflags --libs sharc_mpi) -o "$out/pi_mpi"
  [ -x "$out/pi_mpi" ] &&
    check "the MPI example runs on 2 ranks, identical to one process" \
      "$out/pc.run.log" $mpirun "$out/pi_mpi" 100000
  printf '%s\n' 'cmake_minimum_required(VERSION 3.16)' 'project(pi_mpi C)' \
    'find_package(sharc CONFIG REQUIRED)' \
    "add_executable(pi_mpi $EXAMPLES/mpi.c)" \
    'target_link_libraries(pi_mpi PRIVATE sharc::sharc_mpi)' \
    >"$out/src/CMakeLists.txt"
  check "find_package(sharc) gives sharc::sharc_mpi" "$out/cmake.log" \
    env CC="$CC" cmake -S "$out/src" -B "$out/build" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_C_FLAGS="$STRICT $FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS"
  check "the MPI example builds with sharc::sharc_mpi" "$out/cmake-build.log" \
    cmake --build "$out/build"
  [ -x "$out/build/pi_mpi" ] &&
    check "the CMake-built MPI example runs on 2 ranks" "$out/cmake.run.log" \
      $mpirun "$out/build/pi_mpi" 100000
}

case "$STEP" in
  install) step_install ;;
  pkgconfig) step_pkgconfig ;;
  cmake-shared) step_cmake shared ;;
  cmake-static) step_cmake static ;;
  cxx-headers) step_cxx_headers ;;
  fortran) step_fortran ;;
  mpi) step_mpi ;;
  *)
    echo "$0: unknown step $STEP" >&2
    exit 2
    ;;
esac
finish
