#include "runtime/network_loaders.h"

#include <cstring>

#include "models/llama/llama_model.h"
#include "models/rwkv6/rwkv6_model.h"
#include "models/transnormer/transnormer_model.h"
#include "runtime/byte_tokenizer.h"
#include "runtime/checkpoint/rwkv_cpp_file.h"
#include "runtime/checkpoint/safetensors.h"
#include "runtime/checkpoint/torch_checkpoint.h"
#include "runtime/gguf_llama.h"
#include "runtime/gguf_rwkv6.h"
#include "runtime/gguf_transnormer.h"
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
  if (LooksLikeRwkvCppFile(data, size)) return ModelFormat::kRwkvCpp;
  if (size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0) return ModelFormat::kTorch;
  if (size >= 9) {
    uint64_t header = 0;
    std::memcpy(&header, data, 8);
    if (header >= 2 && header <= size - 8 && data[8] == '{') return ModelFormat::kSafetensors;
  }
  return ModelFormat::kLlama2c;
}

const char* ModelFormatName(ModelFormat f) {
  switch (f) {
    case ModelFormat::kGguf: return "gguf";
    case ModelFormat::kLlama2c: return "llama2.c";
    case ModelFormat::kRwkvCpp: return "rwkv.cpp";
    case ModelFormat::kTorch: return "pytorch";
    case ModelFormat::kSafetensors: return "safetensors";
  }
  return "?";
}

namespace {

Result<LoadedNetwork> MakeRwkv6(Rwkv6Network net) {
  LoadedNetwork out;
  out.weight_bytes = net.weights.bytes;
  FLOE_ASSIGN_OR_RETURN(auto lm, Rwkv6Model::Create(std::move(net)));
  out.lm = std::move(lm);
  if (out.lm->vocab_size() == 256) out.implied_tokenizer = std::make_unique<ByteTokenizer>();
  return out;
}

}  // namespace

Result<LoadedNetwork> LoadNetworkFromGguf(const GgufFile& gguf) {
  if (!gguf.Find("general.architecture"))
    return CorruptData("GGUF has no general.architecture key");
  FLOE_ASSIGN_OR_RETURN(std::string arch, gguf.GetString("general.architecture"));
  if (arch == "llama" || arch == "qwen2") {
    FLOE_ASSIGN_OR_RETURN(LlamaConfig config, LlamaConfigFromGguf(gguf));
    FLOE_ASSIGN_OR_RETURN(LlamaWeights weights, LlamaWeightsFromGguf(gguf, config));
    return MakeLlama(config, std::move(weights));
  }
  if (arch == "rwkv6") {
    FLOE_ASSIGN_OR_RETURN(Rwkv6Network net, Rwkv6FromGguf(gguf));
    return MakeRwkv6(std::move(net));
  }
  if (arch == "transnormer") {
    FLOE_ASSIGN_OR_RETURN(TransnormerNetwork net, TransnormerFromGguf(gguf));
    LoadedNetwork out;
    out.weight_bytes = net.weights.bytes;
    FLOE_ASSIGN_OR_RETURN(out.lm, TransnormerModel::Create(std::move(net)));
    return out;
  }
  return Unsupported("architecture '" + arch + "' (general.architecture) is not supported; "
                     "supported: llama, qwen2, rwkv6, transnormer");
}

Result<LoadedNetwork> LoadNetworkFromLlama2c(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(auto ck, ParseLlama2cCheckpoint(data, size));
  return MakeLlama(ck.config, std::move(ck.weights));
}

Result<LoadedNetwork> LoadNetworkFromTensorFile(ModelFormat format, const uint8_t* data, size_t size,
                                                std::string_view config_json) {
  Result<TensorSet> set = format == ModelFormat::kTorch ? ReadTorchCheckpoint(data, size)
                                                        : ReadSafetensors(data, size);
  if (!set.ok()) return set.status();
  if (LooksLikeRwkv6(*set)) {
    FLOE_ASSIGN_OR_RETURN(Rwkv6Network net, BindRwkv6(*set, Rwkv6Layout::kOfficial));
    return MakeRwkv6(std::move(net));
  }
  if (LooksLikeTransnormer(*set)) {
    if (config_json.empty())
      return InvalidArgument("TransNormerLLM checkpoint needs its Hugging Face config.json in the same "
                             "directory (the tensors do not carry the hyperparameters); none was found");
    FLOE_ASSIGN_OR_RETURN(TransnormerConfig config, TransnormerConfigFromJson(config_json));
    FLOE_ASSIGN_OR_RETURN(TransnormerNetwork net, BindTransnormer(config, *set));
    LoadedNetwork out;
    out.weight_bytes = net.weights.bytes;
    FLOE_ASSIGN_OR_RETURN(out.lm, TransnormerModel::Create(std::move(net)));
    return out;
  }
  return Unsupported(std::string(ModelFormatName(format)) + " checkpoint of an unknown architecture "
                     "(first tensor '" + (set->tensors.empty() ? std::string() : set->tensors[0].name) +
                     "'); supported: RWKV-6 (blocks.N.att.time_maa_*), TransNormerLLM "
                     "(model.layers.N.token_mixer.*)");
}

Result<LoadedNetwork> LoadNetworkFromRwkvCpp(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(RwkvCppFile file, ReadRwkvCppFile(data, size));
  if (!LooksLikeRwkv6(file.tensors))
    return Unsupported("rwkv.cpp file is not an RWKV-6 model (no blocks.0.att.time_maa_x); floe "
                       "supports RWKV-6 (x060)");
  FLOE_ASSIGN_OR_RETURN(Rwkv6Network net, BindRwkv6(file.tensors, Rwkv6Layout::kRwkvCpp));
  const Rwkv6Config& c = net.config;
  if (c.vocab_size != file.n_vocab || c.n_embd != file.n_embed || c.n_layer != file.n_layer)
    return CorruptData("rwkv.cpp header (n_vocab " + std::to_string(file.n_vocab) + ", n_embed " +
                       std::to_string(file.n_embed) + ", n_layer " + std::to_string(file.n_layer) +
                       ") contradicts its tensors (" + std::to_string(c.vocab_size) + ", " +
                       std::to_string(c.n_embd) + ", " + std::to_string(c.n_layer) + ")");
  return MakeRwkv6(std::move(net));
}

}  // namespace floe
