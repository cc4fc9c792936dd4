# Tests: tests/mpi/test_mpi.c under mpirun with 2 and 3 ranks (one worker
# each, so that they pass beside other load on a small machine), and the
# tool under mpirun (tests/mpi/run_pi.sh).
add_executable(test_mpi ${PROJECT_SOURCE_DIR}/tests/mpi/test_mpi.c)
target_link_libraries(test_mpi PRIVATE sharc_mpi m)
find_program(SHARC_MPIEXEC NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})
# Open MPI leaks at exit; LeakSanitizer is told to ignore what MPI's own
# libraries (and hwloc under them) allocated, and nothing else. For that
# their frames must be named: Open MPI and PMIx keep their plugins loaded
# to the end (disable_dlclose), and stacks are unwound fully (the first
# frames of a leak made in MPI's plugins are often unnamed otherwise).
set(SHARC_MPI_TEST_ENV
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/mpi/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
    "OMPI_MCA_mca_base_component_disable_dlclose=1"
    "PMIX_MCA_mca_base_component_disable_dlclose=1"
    "OMPI_MCA_rmaps_base_oversubscribe=1")
foreach(np 2 3)
  add_test(NAME mpi_np${np}
           COMMAND ${SHARC_MPIEXEC} --oversubscribe --allow-run-as-root
                   -np ${np} $<TARGET_FILE:test_mpi>)
  set_tests_properties(mpi_np${np} PROPERTIES TIMEOUT ${SHARC_TEST_TIMEOUT}
                       ENVIRONMENT "${SHARC_MPI_TEST_ENV}"
                       PASS_REGULAR_EXPRESSION "PASS: ${np} rank")
endforeach()
add_test(NAME e2e_mpi_run
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/mpi/run_pi.sh
                 $<TARGET_FILE:sharc_tool> ${SHARC_MPIEXEC})
set_tests_properties(e2e_mpi_run PROPERTIES TIMEOUT ${SHARC_TEST_TIMEOUT}
                     ENVIRONMENT "${SHARC_MPI_TEST_ENV}")
