# The FAISS attention backend: the index on random keys (flat = brute force, HNSW recall,
# streaming = rebuild, no OpenMP threads inside TBB tasks) and through the Llama model
# (exactness, save/restore/fork, interrupted chunks, memory, errors). Its recall on real
# model runs is in ice_recall_test. Built without FAISS, the tests check the kUnsupported path.
if(FLOE_WITH_FAISS)
  target_compile_definitions(floe_test_main PUBLIC FLOE_TEST_WITH_FAISS=1)
endif()
floe_add_test(faiss_knn_test unit faiss_knn_test.cc)
floe_add_test(faiss_model_test model faiss_model_test.cc)
