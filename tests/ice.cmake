# IceFormer kNN attention: the Prioritized DCI index, the sparse attention kernel, the Llama
# wiring (exactness, save/restore, C API settings errors) and recall on real model runs.
floe_add_test(ice_dci_test unit ice_dci_test.cc)
floe_add_test(ice_attention_test unit ice_attention_test.cc)
