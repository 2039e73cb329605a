floe_add_test(quant_test unit quant_test.cc)
