# Outsider tests (tests/outsider/run.sh): `cmake --install` into a prefix in
# the build tree, then outside projects that know only that prefix build the
# docs' examples through pkg-config and find_package, shared and static, in
# C, C++ and Fortran. The install step is a fixture the others need.
set(SHARC_OUTSIDER_DIR ${PROJECT_BINARY_DIR}/outsider)
set(SHARC_OUTSIDER_ENV "CC=${CMAKE_C_COMPILER}")
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  list(APPEND SHARC_OUTSIDER_ENV "CXX=clang++")
else()
  list(APPEND SHARC_OUTSIDER_ENV "CXX=g++")
endif()
# A library built with the sanitizers links only into programs built with
# them too.
if(SHARC_SANITIZE)
  list(APPEND SHARC_OUTSIDER_ENV
       "SHARC_OUTSIDER_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all")
endif()
find_program(SHARC_GFORTRAN gfortran)
set(SHARC_OUTSIDER_LANGS cxx)
if(SHARC_GFORTRAN AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  list(APPEND SHARC_OUTSIDER_LANGS fortran)
else()
  message(STATUS "outsider tests: no gfortran (Debian: gfortran) or a clang "
                 "build; the Fortran module is not tested")
endif()
string(REPLACE ";" " " _langs "${SHARC_OUTSIDER_LANGS}")
list(APPEND SHARC_OUTSIDER_ENV "SHARC_OUTSIDER_LANGS=${_langs}")

set(_steps install pkgconfig cmake-shared cmake-static cxx-headers)
if("fortran" IN_LIST SHARC_OUTSIDER_LANGS)
  list(APPEND _steps fortran)
endif()
# libsharc_mpi's example through the installed package, under mpirun
# (with the MPI tests' environment: cmake/mpi_tests.cmake).
if(SHARC_MPI_FOUND)
  list(APPEND _steps mpi)
endif()
foreach(step ${_steps})
  add_test(NAME outsider_${step}
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/outsider/run.sh ${step}
                   ${PROJECT_BINARY_DIR} ${SHARC_OUTSIDER_DIR})
  set_tests_properties(outsider_${step} PROPERTIES
                       ENVIRONMENT "${SHARC_OUTSIDER_ENV}" TIMEOUT 600)
  if(step STREQUAL "mpi")
    set_tests_properties(outsider_${step} PROPERTIES
                         ENVIRONMENT "${SHARC_OUTSIDER_ENV};${SHARC_MPI_TEST_ENV}")
  endif()
  if(step STREQUAL "install")
    set_tests_properties(outsider_${step} PROPERTIES
                         FIXTURES_SETUP sharc_installed)
  else()
    set_tests_properties(outsider_${step} PROPERTIES
                         FIXTURES_REQUIRED sharc_installed)
  endif()
endforeach()
