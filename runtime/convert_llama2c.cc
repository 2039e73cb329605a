#include "runtime/convert_llama2c.h"

#include <filesystem>

#include "platform/mapped_file.h"
#include "runtime/gguf_writer.h"
#include "runtime/llama2c_checkpoint.h"
#include "runtime/spm_vocab.h"

namespace floe {

namespace {

Status AddF32(GgufWriter& w, const std::string& name, const TensorView& t) {
  std::vector<uint64_t> ne = {t.cols};
  if (t.rows > 1) ne.push_back(t.rows);
  return w.AddTensor(name, ne, /*ggml_type F32=*/0, t.data, t.bytes());
}

}  // namespace

Status ConvertLlama2cToGguf(const ConvertLlama2cOptions& o) {
  FLOE_ASSIGN_OR_RETURN(MappedFile ck_file, MappedFile::Open(o.checkpoint_path));
  auto ck = ParseLlama2cCheckpoint(ck_file.data(), ck_file.size());
  if (!ck.ok()) return Status(ck.status()).WithContext("'" + o.checkpoint_path + "'");
  const LlamaConfig& c = ck->config;
  FLOE_ASSIGN_OR_RETURN(MappedFile tok_file, MappedFile::Open(o.tokenizer_path));
  auto vocab = LoadLlama2cTokenizer(tok_file.data(), tok_file.size(), c.vocab_size);
  if (!vocab.ok()) return Status(vocab.status()).WithContext("'" + o.tokenizer_path + "'");

  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetString("general.name", o.model_name.empty()
                                  ? std::filesystem::path(o.checkpoint_path).stem().string()
                                  : o.model_name);
  w.SetUint32("general.file_type", 0);  // ALL_F32
  w.SetUint32("general.alignment", 32);
  w.SetUint32("llama.context_length", uint32_t(c.context_length));
  w.SetUint32("llama.embedding_length", uint32_t(c.dim));
  w.SetUint32("llama.block_count", uint32_t(c.n_layers));
  w.SetUint32("llama.feed_forward_length", uint32_t(c.ffn_dim));
  w.SetUint32("llama.rope.dimension_count", uint32_t(c.rope_dim));
  w.SetUint32("llama.attention.head_count", uint32_t(c.n_heads));
  w.SetUint32("llama.attention.head_count_kv", uint32_t(c.n_kv_heads));
  w.SetFloat32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
  w.SetFloat32("llama.rope.freq_base", c.rope_freq_base);
  w.SetUint32("llama.vocab_size", uint32_t(c.vocab_size));
  WriteSpmVocabToGguf(vocab.value(), &w);

  const LlamaWeights& wt = ck->weights;
  FLOE_RETURN_IF_ERROR(AddF32(w, llama_names::kTokenEmbd, wt.token_embd));
  using llama_names::Layer;
  for (size_t l = 0; l < c.n_layers; ++l) {
    const LlamaLayerWeights& L = wt.layers[l];
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "attn_norm"), L.attn_norm));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "attn_q"), L.wq));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "attn_k"), L.wk));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "attn_v"), L.wv));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "attn_output"), L.wo));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "ffn_norm"), L.ffn_norm));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "ffn_gate"), L.ffn_gate));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "ffn_up"), L.ffn_up));
    FLOE_RETURN_IF_ERROR(AddF32(w, Layer(l, "ffn_down"), L.ffn_down));
  }
  FLOE_RETURN_IF_ERROR(AddF32(w, llama_names::kOutputNorm, wt.output_norm));
  if (!ck->shared_classifier) FLOE_RETURN_IF_ERROR(AddF32(w, llama_names::kOutput, wt.output));
  return w.WriteFile(o.output_path);
}

}  // namespace floe
