floe_add_test(llama_model_test model llama_model_test.cc)
floe_add_test(llama2c_hostile_test unit llama2c_hostile_test.cc)
floe_add_test(sampler_test unit sampler_test.cc)

# The public header as C11, warnings as errors; a C program generating text.
add_executable(c_api_test c_api_test.c)
set_target_properties(c_api_test PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                      LINKER_LANGUAGE CXX)
target_compile_options(c_api_test PRIVATE -Wall -Wextra -Werror -pedantic)
target_link_libraries(c_api_test PRIVATE floe)
add_test(NAME c_api_generate COMMAND c_api_test ${FLOE_SHARED_DATA_DIR})
set_tests_properties(c_api_generate PROPERTIES LABELS model)

add_test(NAME cli_golden COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_golden.sh
         $<TARGET_FILE:floe_cli> ${FLOE_SHARED_DATA_DIR})
set_tests_properties(cli_golden PROPERTIES LABELS model)
floe_add_test(session_state_test unit session_state_test.cc)
floe_add_test(c_api_cpp_test unit c_api_cpp_test.cc)
target_compile_options(c_api_cpp_test PRIVATE -Werror)
floe_add_test(logits_compare_test unit logits_compare_test.cc)
floe_add_test(gguf_model_hostile_test unit gguf_model_hostile_test.cc)
floe_add_test(llama_reference_test model llama_reference_test.cc)
