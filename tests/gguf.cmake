floe_add_test(gguf_test unit gguf_test.cc)
