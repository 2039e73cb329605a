floe_add_test(kernels_test unit kernels_test.cc)
