floe_add_test(bpe_tokenizer_test unit bpe_tokenizer_test.cc bpe_pretokenizer_test.cc bpe_hostile_test.cc)
target_compile_definitions(bpe_tokenizer_test PRIVATE
  FLOE_BPE_PRETOKENIZER_GOLDEN="${CMAKE_CURRENT_SOURCE_DIR}/data/bpe_pretokenizer_golden.tsv")
