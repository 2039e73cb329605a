#include "runtime/network_loaders.h"

#include <cstring>

#include "models/llama/llama_model.h"
#include "runtime/gguf_llama.h"
#include "runtime/llama2c_checkpoint.h"

namespace floe {

namespace {

size_t WeightBytes(const LlamaWeights& w) {
  size_t n = w.token_embd.bytes() + w.output_norm.bytes() +
             (w.output.data != w.token_embd.data ? w.output.bytes() : 0);
  for (const auto& L : w.layers)
    n += L.attn_norm.bytes() + L.wq.bytes() + L.wk.bytes() + L.wv.bytes() + L.wo.bytes() +
         L.ffn_norm.bytes() + L.ffn_gate.bytes() + L.ffn_up.bytes() + L.ffn_down.bytes();
  return n;
}

Result<LoadedNetwork> MakeLlama(const LlamaConfig& config, LlamaWeights weights) {
  LoadedNetwork net;
  net.weight_bytes = WeightBytes(weights);
  FLOE_ASSIGN_OR_RETURN(auto lm, LlamaModel::Create(config, std::move(weights)));
  net.lm = std::move(lm);
  return net;
}

}  // namespace

ModelFormat DetectModelFormat(const uint8_t* data, size_t size) {
  if (size >= 4 && std::memcmp(data, "GGUF", 4) == 0) return ModelFormat::kGguf;
  return ModelFormat::kLlama2c;
}

const char* ModelFormatName(ModelFormat f) {
  switch (f) {
    case ModelFormat::kGguf: return "gguf";
    case ModelFormat::kLlama2c: return "llama2.c";
  }
  return "?";
}

Result<LoadedNetwork> LoadNetworkFromGguf(const GgufFile& gguf) {
  if (!gguf.Find("general.architecture"))
    return CorruptData("GGUF has no general.architecture key");
  FLOE_ASSIGN_OR_RETURN(std::string arch, gguf.GetString("general.architecture"));
  if (arch == "llama") {
    FLOE_ASSIGN_OR_RETURN(LlamaConfig config, LlamaConfigFromGguf(gguf));
    FLOE_ASSIGN_OR_RETURN(LlamaWeights weights, LlamaWeightsFromGguf(gguf, config));
    return MakeLlama(config, std::move(weights));
  }
  return Unsupported("architecture '" + arch + "' (general.architecture) is not supported; "
                     "supported: llama");
}

Result<LoadedNetwork> LoadNetworkFromLlama2c(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(auto ck, ParseLlama2cCheckpoint(data, size));
  return MakeLlama(ck.config, std::move(ck.weights));
}

}  // namespace floe
