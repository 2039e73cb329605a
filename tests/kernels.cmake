floe_add_test(kernels_test unit kernels_test.cc)
floe_add_test(search_kernels_test unit search_kernels_test.cc)
