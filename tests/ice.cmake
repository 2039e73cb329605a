# IceFormer kNN attention: the Prioritized DCI index, the sparse attention kernel, the Llama
# wiring (exactness, save/restore, C API settings errors) and recall on real model runs.
floe_add_test(ice_dci_test unit ice_dci_test.cc)
floe_add_test(ice_multilevel_dci_test unit ice_multilevel_dci_test.cc)
floe_add_test(ice_attention_test unit ice_attention_test.cc)
floe_add_test(ice_model_test model ice_model_test.cc)
floe_add_test(ice_recall_test model ice_recall_test.cc)
floe_add_test(ice_c_api_test unit ice_c_api_test.cc)

add_test(NAME ice_eval_attention COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/eval_attention.sh
         $<TARGET_FILE:floe_cli> ${FLOE_SHARED_DATA_DIR})
set_tests_properties(ice_eval_attention PROPERTIES LABELS model)
