floe_add_test(rwkv6_model_test model rwkv6_model_test.cc rwkv6_reference_test.cc rwkv6_c_api_test.cc rwkv6_gguf_test.cc)
floe_add_test(rwkv6_unit_test unit rwkv6_wkv_test.cc rwkv6_hostile_test.cc)
