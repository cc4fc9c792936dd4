# Installing the MPI component (cmake/mpi.cmake): libsharc_mpi shared and
# static, the CMake targets sharc::sharc_mpi(_static) and sharc_mpi.pc.
# Included by install.cmake when MPI was found.
set_target_properties(sharc_mpi PROPERTIES EXPORT_NAME sharc_mpi)
set_target_properties(sharc_mpi_static PROPERTIES EXPORT_NAME sharc_mpi_static)
install(TARGETS sharc_mpi sharc_mpi_static EXPORT sharc_mpiTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# sharcConfig.cmake includes these targets when they were installed.
install(EXPORT sharc_mpiTargets NAMESPACE sharc::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sharc)
# sharc_mpi.pc: the MPI flags CMake found, for programs not built with
# mpicc (with mpicc they are already there).
set(SHARC_PC_MPI_CFLAGS "")
foreach(dir ${MPI_C_INCLUDE_DIRS})
  string(APPEND SHARC_PC_MPI_CFLAGS " -I${dir}")
endforeach()
set(SHARC_PC_MPI_LIBS "")
foreach(lib ${MPI_C_LIBRARIES})
  string(APPEND SHARC_PC_MPI_LIBS " ${lib}")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/sharc_mpi.pc.in
               ${PROJECT_BINARY_DIR}/sharc_mpi.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sharc_mpi.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
