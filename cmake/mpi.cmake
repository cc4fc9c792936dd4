# The MPI component (lib/mpi/, include/sharc/mpi.h): libsharc_mpi, shared
# and static, built only when MPI is found (Debian: openmpi-bin,
# libopenmpi-dev). The core never needs it: the sharc tool loads
# libsharc_mpi.so at run time (dlopen) only when started by an MPI launcher.
option(SHARC_MPI "Build libsharc_mpi when MPI is found" ON)
set(SHARC_MPI_FOUND OFF)
if(SHARC_MPI)
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(SHARC_MPI_FOUND ON)
  else()
    message(STATUS "MPI not found (Debian: openmpi-bin libopenmpi-dev): "
                   "libsharc_mpi and its tests are not built")
  endif()
endif()

if(SHARC_MPI_FOUND)
  file(GLOB SHARC_MPI_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/lib/mpi/*.c)
  add_library(sharc_mpi_obj OBJECT ${SHARC_MPI_SOURCES})
  target_include_directories(sharc_mpi_obj PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${SHARC_GENERATED_INCLUDE}>)
  target_link_libraries(sharc_mpi_obj PUBLIC MPI::MPI_C)

  # Beside libsharc.so in the build tree, where the tool looks for it.
  add_library(sharc_mpi SHARED $<TARGET_OBJECTS:sharc_mpi_obj>)
  target_include_directories(sharc_mpi PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${SHARC_GENERATED_INCLUDE}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(sharc_mpi PUBLIC sharc MPI::MPI_C)
  set_target_properties(sharc_mpi PROPERTIES
                        VERSION ${PROJECT_VERSION}
                        SOVERSION ${PROJECT_VERSION_MAJOR}
                        LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})

  add_library(sharc_mpi_static STATIC $<TARGET_OBJECTS:sharc_mpi_obj>)
  set_target_properties(sharc_mpi_static PROPERTIES OUTPUT_NAME sharc_mpi
                        ARCHIVE_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
  target_include_directories(sharc_mpi_static PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${SHARC_GENERATED_INCLUDE}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(sharc_mpi_static PUBLIC sharc_static MPI::MPI_C)
  add_library(sharc::sharc_mpi ALIAS sharc_mpi)
  add_library(sharc::sharc_mpi_static ALIAS sharc_mpi_static)
  # `mpirun -np N sharc run ...`: the tool loads libsharc_mpi with dlopen
  # (tools/mpi_run.c) and so never needs MPI's libraries otherwise; MPI's
  # headers give it the types. It finds the library beside libsharc.
  add_dependencies(sharc_tool sharc_mpi)
  target_include_directories(sharc_tool PRIVATE ${MPI_C_INCLUDE_DIRS})
  target_compile_definitions(sharc_tool PRIVATE SHARC_TOOL_MPI
    SHARC_MPI_SONAME="libsharc_mpi.so.${PROJECT_VERSION_MAJOR}")
endif()
