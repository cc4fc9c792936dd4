#!/usr/bin/env bash
# The shared library exports only the public sharc_ API (style rule 1):
# every defined dynamic symbol carries the sharc_ prefix, none is an
# internal sharc__ one, the functions callers need are there, and the export
# list is exactly the set of SHARC_API declarations in include/.
#
# usage: bash tests/e2e/exports.sh PATH_TO_SHARC_BINARY
# libsharc.so is looked for next to the binary (the build directory).
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
LIB=$(dirname "$1")/libsharc.so
INCLUDE=$(cd "$(dirname "$0")/../.." && pwd)/include

pass=0
fail=0
ok() { pass=$((pass + 1)); }
# bad WHAT [NAMES]: a failure, with the offending symbols one per line.
bad() {
  fail=$((fail + 1))
  echo "FAIL: $1" >&2
  local name
  while read -r name; do
    if [ -n "$name" ]; then echo "    $name" >&2; fi
  done <<<"${2:-}"
}

finish() {
  echo "$pass passed, $fail failed"
  exit $((fail > 0))
}

if ! command -v nm >/dev/null 2>&1; then
  bad "nm is available (binutils)"
  finish
fi
if [ ! -e "$LIB" ]; then
  bad "libsharc.so exists next to the tool: $LIB"
  finish
fi
ok

# nm -D --defined-only prints "ADDRESS TYPE NAME" (NAME may carry @VERSION).
if ! syms=$(nm -D --defined-only "$LIB" 2>&1); then
  bad "nm -D --defined-only $LIB succeeds" "$syms"
  finish
fi
ok

# Functions and data of every flavour: text, initialised, zeroed, read-only,
# small data, indirect functions, weak ones. A weak or common symbol from
# the toolchain would still be part of what callers can bind to.
exported=$(awk 'NF >= 3 && $2 ~ /^[TtDdBbRrGgSsiWwVvC]$/ { sub(/@.*/, "", $3); print $3 }' \
  <<<"$syms" | sort -u)
if [ -n "$exported" ]; then ok; else bad "libsharc.so exports some symbols"; fi

unprefixed=$(grep -v '^sharc_' <<<"$exported")
if [ -z "$unprefixed" ]; then
  ok
else
  bad "every exported symbol starts with sharc_" "$unprefixed"
fi

internal=$(grep '^sharc__' <<<"$exported")
if [ -z "$internal" ]; then
  ok
else
  bad "no internal sharc__ symbol is exported" "$internal"
fi

for name in sharc_pool_create sharc_pool_destroy sharc_run sharc_array_create \
  sharc_array_destroy sharc_npy_probe sharc_strerror sharc_version; do
  if grep -qx "$name" <<<"$exported"; then
    ok
  else
    bad "required symbol $name is exported"
  fi
done

# The export list and the headers agree: every SHARC_API declaration is
# exported, and nothing is exported that no public header declares.
# Declarations may span lines, so the headers are read as one line.
if [ -d "$INCLUDE" ]; then
  # sharc/mpi.h is libsharc_mpi's (checked below), not libsharc's.
  declared=$(ls "$INCLUDE"/sharc.h "$INCLUDE"/sharc/*.h | grep -v '/sharc/mpi\.h$' |
    xargs cat 2>/dev/null | tr '\n' ' ' |
    grep -oE 'SHARC_API[^;{}]*\(' | grep -oE 'sharc_[A-Za-z0-9_]+ *\($' |
    tr -d ' (' | sort -u)
  missing=$(comm -23 <(echo "$declared") <(echo "$exported") | grep .)
  extra=$(comm -13 <(echo "$declared") <(echo "$exported") | grep .)
  if [ -n "$declared" ] && [ -z "$missing" ]; then
    ok
  else
    bad "every SHARC_API function in include/ is exported" "$missing"
  fi
  if [ -z "$extra" ]; then
    ok
  else
    bad "every exported symbol is declared SHARC_API in include/" "$extra"
  fi
fi

# libsharc_mpi.so (built when MPI was found) exports exactly what
# sharc/mpi.h declares, all sharc_mpi_.
MPILIB=$(dirname "$1")/libsharc_mpi.so
if [ -e "$MPILIB" ] && [ -d "$INCLUDE" ]; then
  mexported=$(nm -D --defined-only "$MPILIB" |
    awk 'NF >= 3 && $2 ~ /^[TtDdBbRrGgSsiWwVvC]$/ { sub(/@.*/, "", $3); print $3 }' |
    sort -u)
  mdeclared=$(tr '\n' ' ' <"$INCLUDE"/sharc/mpi.h | grep -oE 'SHARC_API[^;{}]*\(' |
    grep -oE 'sharc_[A-Za-z0-9_]+ *\($' | tr -d ' (' | sort -u)
  if [ -n "$mexported" ] && [ "$mexported" = "$mdeclared" ] &&
    ! grep -qv '^sharc_mpi_' <<<"$mexported"; then
    ok
  else
    bad "libsharc_mpi.so exports exactly sharc/mpi.h's sharc_mpi_ functions" \
      "$(diff <(echo "$mdeclared") <(echo "$mexported"))"
  fi
fi

# The static archive cannot hide symbols, but its globals must still carry
# the project prefix (sharc_ public or sharc__ internal) so that linking it
# into a program never collides with the program's own names.
ARCHIVE=$(dirname "$1")/libsharc.a
if [ -e "$ARCHIVE" ]; then
  # AddressSanitizer adds an ODR indicator "__odr_asan.NAME" per global
  # variable NAME: it is checked as NAME.
  globals=$(nm -g --defined-only "$ARCHIVE" 2>/dev/null |
    awk 'NF >= 3 { sub(/^__odr_asan[.]/, "", $3); print $3 }' | sort -u)
  foreign=$(grep -v '^sharc_' <<<"$globals")
  if [ -n "$globals" ] && [ -z "$foreign" ]; then
    ok
  else
    bad "every global in libsharc.a starts with sharc_" "$foreign"
  fi
fi

finish
