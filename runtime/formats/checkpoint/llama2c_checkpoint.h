// Reader for karpathy/llama2.c checkpoints (fp32):
//  - legacy: 7 x int32 header {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
//    seq_len}; vocab_size < 0 means a separate classifier. Then token_embedding, rms_att[L],
//    wq[L], wk[L], wv[L], wo[L], rms_ffn[L], w1[L], w2[L], w3[L], rms_final,
//    freq_cis_real/imag (seq_len x head_size/2 each, unused), [wcls].
//  - v1 ("ak42", export.py version1_export): 256-byte header {u32 magic 0x616b3432, i32
//    version 1, the same 7 ints, u8 shared_classifier, zero pad}; then rms_att[L], rms_ffn[L],
//    rms_final, token_embedding, wq[L], wk[L], wv[L], wo[L], w1[L], w2[L], w3[L], [wcls].
// The tensors are returned as views into `data`, which must outlive them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "models/llama/llama_config.h"
#include "platform/base/model_collector.h"
#include "platform/base/status.h"

namespace floe {

struct Llama2cCheckpoint {
  int version = 0;  // 0 = legacy, 1 = "ak42" v1
  bool shared_classifier = true;
  LlamaConfig config;
  LlamaWeights weights;
};

bool LooksLikeLlama2cV1(const uint8_t* data, size_t size);

// Errors: kCorruptData for an implausible header or a size that does not match the header
// (the message gives both), kUnsupported for other "ak42" versions (e.g. int8 v2).
Result<Llama2cCheckpoint> ParseLlama2cCheckpoint(const uint8_t* data, size_t size);

// The checkpoint as the format-neutral pair every loader reads: the "llama" GGUF keys
// (general.architecture included) and the tensors under their GGUF names, views into `data`.
Result<std::unique_ptr<ModelCollector>> ReadLlama2cAsGguf(const uint8_t* data, size_t size);

}  // namespace floe
