floe_add_test(tokenizer_test unit tokenizer_test.cc)
