# Installation: headers, libsharc.so (SONAME libsharc.so.MAJOR), libsharc.a,
# the sharc tool (and sharc-worker when it exists), the man page, the
# Fortran module source, sharc.pc and the CMake package sharc::.
include(CMakePackageConfigHelpers)

set(SHARC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sharc)
# The Fortran module is shipped as source: a .mod file only suits the
# compiler (and version) that wrote it.
set(SHARC_FORTRAN_DIR ${CMAKE_INSTALL_DATADIR}/sharc/fortran)

set_target_properties(sharc PROPERTIES EXPORT_NAME sharc)
set_target_properties(sharc_static PROPERTIES EXPORT_NAME sharc_static)
install(TARGETS sharc sharc_static EXPORT sharcTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The tool finds libsharc.so relative to itself, so any prefix works
# without LD_LIBRARY_PATH.
file(RELATIVE_PATH _sharc_bin_to_lib
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR})
foreach(tool sharc_tool sharc_worker)
  if(TARGET ${tool})
    set_target_properties(${tool} PROPERTIES
                          INSTALL_RPATH "$ORIGIN/${_sharc_bin_to_lib}")
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# sharc/mpi.h only with libsharc_mpi (cmake/mpi.cmake).
if(SHARC_MPI_FOUND)
  set(_sharc_no_mpi_h "")
else()
  set(_sharc_no_mpi_h PATTERN "mpi.h" EXCLUDE)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp" ${_sharc_no_mpi_h})
install(FILES ${PROJECT_BINARY_DIR}/include/sharc/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sharc)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/sharc.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/fortran/sharc.f90
        DESTINATION ${SHARC_FORTRAN_DIR})

# CMake package. The targets file is not the config file: the config file
# first finds what sharc::sharc_static links (hwloc, libnuma, threads).
install(EXPORT sharcTargets NAMESPACE sharc:: DESTINATION ${SHARC_CMAKE_DIR})
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/sharcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sharcConfig.cmake
  INSTALL_DESTINATION ${SHARC_CMAKE_DIR}
  PATH_VARS SHARC_FORTRAN_DIR)
# 0.x: every minor version may break the API, so only the same MAJOR.MINOR
# is compatible until 1.0.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/sharcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sharcConfig.cmake
              ${PROJECT_BINARY_DIR}/sharcConfigVersion.cmake
        DESTINATION ${SHARC_CMAKE_DIR})

# pkg-config: sharc.pc for the shared library; `pkg-config --static` adds
# what libsharc.a needs (Requires.private, Libs.private).
function(sharc_pc_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
# Relocatable: the prefix is found from where sharc.pc lies, so
# `cmake --install build --prefix DIR` gives a usable file in any DIR.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(SHARC_PC_PREFIX ${CMAKE_INSTALL_PREFIX})
else()
  file(RELATIVE_PATH _sharc_pc_up /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
  string(REGEX REPLACE "/$" "" _sharc_pc_up "${_sharc_pc_up}")
  set(SHARC_PC_PREFIX "\${pcfiledir}/${_sharc_pc_up}")
endif()
sharc_pc_path(SHARC_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
sharc_pc_path(SHARC_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
sharc_pc_path(SHARC_PC_FORTRANDIR ${SHARC_FORTRAN_DIR})
# sharc-static.pc links libsharc.a and keeps every other library shared,
# which is what most programs want: a fully static link (-static) needs
# static builds of hwloc's own dependencies, and Debian ships no libudev.a.
foreach(pc sharc sharc-static)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in
                 ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

if(SHARC_MPI_FOUND)
  include(${PROJECT_SOURCE_DIR}/cmake/mpi_install.cmake)
endif()
