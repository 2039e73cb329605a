floe_add_test(transnormer_model_test model transnormer_parity_test.cc transnormer_gguf_test.cc)
floe_add_test(transnormer_unit_test unit lightning_attention_test.cc transnormer_model_unit_test.cc
              transnormer_hostile_test.cc)
