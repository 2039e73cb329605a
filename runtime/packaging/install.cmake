# `cmake --install`: include/floe/{floe.h,floe.hpp}, lib/libfloe.a, lib/cmake/floe (a CMake
# package: find_package(floe) -> floe::floe) and lib/pkgconfig/floe.pc.
# With FLOE_STATIC_DEPS the installed libfloe.a is one archive holding floe's objects and those
# of the static Highway, mimalloc and oneTBB (and, with FLOE_WITH_FAISS, of Debian's static
# libfaiss.a), so users link exactly one floe library. FAISS's own needs, BLAS, LAPACK and the
# OpenMP runtime, stay system shared libraries (libblas3, liblapack3, libgomp1), exported as
# link dependencies of the package (floe-config.cmake, floe.pc): bundling a second copy of
# libgomp into an application that may use OpenMP itself would give it two OpenMP runtimes.
include(GNUInstallDirs)

if(FLOE_STATIC_DEPS)
  set(FLOE_BUNDLE "${CMAKE_BINARY_DIR}/bundle/libfloe.a")
  set(FLOE_BUNDLE_MRI "${CMAKE_BINARY_DIR}/bundle/libfloe.mri")
  set(FLOE_BUNDLE_FAISS "")
  if(FLOE_WITH_FAISS)
    set(FLOE_BUNDLE_FAISS "ADDLIB $<TARGET_FILE:faiss>\n")
  endif()
  file(GENERATE OUTPUT "${FLOE_BUNDLE_MRI}" CONTENT
"CREATE ${FLOE_BUNDLE}
ADDLIB $<TARGET_FILE:floe>
ADDLIB ${FLOE_DEPS_PREFIX}/lib/libhwy.a
ADDLIB ${FLOE_DEPS_PREFIX}/lib/libmimalloc.a
ADDLIB ${FLOE_DEPS_PREFIX}/lib/libtbb.a
${FLOE_BUNDLE_FAISS}SAVE
END
")
  add_custom_command(OUTPUT "${FLOE_BUNDLE}"
    COMMAND ${CMAKE_COMMAND} -E rm -f "${FLOE_BUNDLE}"
    COMMAND ${CMAKE_AR} -M < "${FLOE_BUNDLE_MRI}"
    DEPENDS floe "${FLOE_BUNDLE_MRI}"
    COMMENT "Bundling libfloe.a with static Highway, mimalloc and oneTBB")
  add_custom_target(floe_bundle ALL DEPENDS "${FLOE_BUNDLE}")
  install(FILES "${FLOE_BUNDLE}" DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(FLOE_PC_PRIVATE "-lstdc++ -lm -lpthread -ldl")
  set(FLOE_CONFIG_EXTRA_LIBS "")
else()
  install(TARGETS floe ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(FLOE_PC_PRIVATE "-ltbb -lhwy -lmimalloc -lstdc++ -lm -lpthread -ldl")
  set(FLOE_CONFIG_EXTRA_LIBS ";tbb;hwy;mimalloc")
endif()
set(FLOE_CONFIG_FIND_FAISS OFF)
if(FLOE_WITH_FAISS)
  if(NOT FLOE_STATIC_DEPS)  # libfaiss.a is not bundled: link it from the system
    set(FLOE_PC_PRIVATE "-lfaiss ${FLOE_PC_PRIVATE}")
    set(FLOE_CONFIG_EXTRA_LIBS "${FLOE_CONFIG_EXTRA_LIBS};faiss")
    set(FLOE_CONFIG_FIND_FAISS ON)
  endif()
  set(FLOE_PC_PRIVATE "${FLOE_PC_PRIVATE} -llapack -lblas -lgomp")
  set(FLOE_CONFIG_EXTRA_LIBS "${FLOE_CONFIG_EXTRA_LIBS};$<LINK_ONLY:OpenMP::OpenMP_CXX>;LAPACK::LAPACK;BLAS::BLAS")
endif()

install(FILES runtime/include/floe/floe.h runtime/include/floe/floe.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/floe)

include(CMakePackageConfigHelpers)
configure_package_config_file(runtime/packaging/floe-config.cmake.in
  "${CMAKE_BINARY_DIR}/floe-config.cmake" INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/floe)
write_basic_package_version_file("${CMAKE_BINARY_DIR}/floe-config-version.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/floe-config.cmake" "${CMAKE_BINARY_DIR}/floe-config-version.cmake"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/floe)

configure_file(runtime/packaging/floe.pc.in "${CMAKE_BINARY_DIR}/floe.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/floe.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
