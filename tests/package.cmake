# Install + out-of-tree embedding + dependency check (needs the static-dependency build).
if(FLOE_STATIC_DEPS)
  add_test(NAME package_install_embed
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/package_test.sh ${CMAKE_BINARY_DIR}
                   ${CMAKE_SOURCE_DIR} $<TARGET_FILE:floe_cli> ${FLOE_SHARED_DATA_DIR})
  set_tests_properties(package_install_embed PROPERTIES LABELS slow)
endif()
