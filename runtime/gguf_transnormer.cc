#include "runtime/gguf_transnormer.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "platform/mapped_file.h"
#include "runtime/checkpoint/safetensors.h"
#include "runtime/checkpoint/torch_checkpoint.h"
#include "runtime/gguf_writer.h"

namespace floe {

namespace {

constexpr const char* kArch = "transnormer";

Result<size_t> Count(const GgufFile& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("transnormer GGUF");
  if (*v == 0 || *v > (uint64_t(1) << 32)) return CorruptData("transnormer GGUF: " + key + " = " + std::to_string(*v) + " is implausible");
  return size_t(*v);
}

}  // namespace

Result<TransnormerNetwork> TransnormerFromGguf(const GgufFile& f) {
  TransnormerConfig c;
  const std::string k = std::string(kArch) + ".";
  FLOE_ASSIGN_OR_RETURN(c.vocab_size, Count(f, k + "vocab_size"));
  FLOE_ASSIGN_OR_RETURN(c.embed_dim, Count(f, k + "embedding_length"));
  FLOE_ASSIGN_OR_RETURN(c.hidden_dim, Count(f, k + "hidden_dim"));
  FLOE_ASSIGN_OR_RETURN(c.n_heads, Count(f, k + "attention.head_count"));
  FLOE_ASSIGN_OR_RETURN(c.n_layers, Count(f, k + "block_count"));
  FLOE_ASSIGN_OR_RETURN(c.glu_dim, Count(f, k + "glu_dim"));
  FLOE_ASSIGN_OR_RETURN(std::vector<int32_t> lrpe, f.GetInt32Array(k + "lrpe_layers"));
  for (int32_t v : lrpe) {
    if (v != 0 && v != 1) return CorruptData("transnormer GGUF: " + k + "lrpe_layers holds " + std::to_string(v) + " (0 or 1 expected)");
    c.lrpe.push_back(v == 1);
  }
  FLOE_ASSIGN_OR_RETURN(std::string act, f.GetString(k + "linear_act_fun"));
  FLOE_ASSIGN_OR_RETURN(c.act, ParseTransnormerActivation(act));
  FLOE_ASSIGN_OR_RETURN(c.scale_embedding, f.GetBool(k + "scale_embedding"));
  FLOE_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.GetBool(k + "tie_word_embeddings"));
  if (f.Find(k + "norm_eps")) {
    FLOE_ASSIGN_OR_RETURN(double eps, f.GetFloat(k + "norm_eps"));
    if (!(eps > 0.0 && eps < 1.0)) return CorruptData("transnormer GGUF: norm_eps " + std::to_string(eps) + " is implausible");
    c.norm_eps = float(eps);
  }
  FLOE_RETURN_IF_ERROR(c.Validate());
  TensorSet set;
  for (const GgufTensorInfo& info : f.tensors()) {
    if (info.type != 0 && info.type != 1 && info.type != 30)
      return Unsupported("tensor '" + info.name + "': transnormer GGUF tensors must be f32, f16 or bf16");
    NamedTensor t;
    t.name = info.name;
    t.dtype = DType(info.type);
    for (size_t d = info.ne.size(); d-- > 0;) t.shape.push_back(info.ne[d]);
    t.data = info.data;
    t.bytes = size_t(info.nbytes);
    set.tensors.push_back(std::move(t));
  }
  return BindTransnormer(c, set);
}

Status ConvertTransnormerToGguf(const std::string& checkpoint_path, const std::string& name,
                                const std::string& output_path) {
  FLOE_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(checkpoint_path));
  const bool zip = file.size() >= 4 && std::memcmp(file.data(), "PK\x03\x04", 4) == 0;
  auto set = zip ? ReadTorchCheckpoint(file.data(), file.size()) : ReadSafetensors(file.data(), file.size());
  if (!set.ok()) return Status(set.status()).WithContext("'" + checkpoint_path + "'");
  if (!LooksLikeTransnormer(*set)) return InvalidArgument("'" + checkpoint_path + "' is not a TransNormerLLM checkpoint");
  const std::filesystem::path cfg = std::filesystem::path(checkpoint_path).parent_path() / "config.json";
  std::ifstream in(cfg, std::ios::binary);
  if (!in) return NotFound("TransNormerLLM conversion needs " + cfg.string());
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  FLOE_ASSIGN_OR_RETURN(TransnormerConfig c, TransnormerConfigFromJson(json));
  FLOE_RETURN_IF_ERROR(BindTransnormer(c, *set).status());  // every tensor present and well shaped

  GgufWriter w;
  const std::string k = std::string(kArch) + ".";
  w.SetString("general.architecture", kArch);
  w.SetString("general.name", name);
  w.SetUint32("general.alignment", 32);
  w.SetUint32(k + "vocab_size", uint32_t(c.vocab_size));
  w.SetUint32(k + "embedding_length", uint32_t(c.embed_dim));
  w.SetUint32(k + "hidden_dim", uint32_t(c.hidden_dim));
  w.SetUint32(k + "attention.head_count", uint32_t(c.n_heads));
  w.SetUint32(k + "block_count", uint32_t(c.n_layers));
  w.SetUint32(k + "glu_dim", uint32_t(c.glu_dim));
  std::vector<int32_t> lrpe;
  for (bool b : c.lrpe) lrpe.push_back(b ? 1 : 0);
  w.SetInt32Array(k + "lrpe_layers", lrpe);
  w.SetString(k + "linear_act_fun", TransnormerActivationName(c.act));
  w.SetBool(k + "scale_embedding", c.scale_embedding);
  w.SetBool(k + "tie_word_embeddings", c.tie_word_embeddings);
  w.SetFloat32(k + "norm_eps", c.norm_eps);
  for (const NamedTensor& t : set->tensors) {
    std::vector<uint64_t> ne(t.shape.rbegin(), t.shape.rend());
    if (ne.empty()) ne.push_back(1);
    FLOE_RETURN_IF_ERROR(w.AddTensor(t.name, ne, uint32_t(t.dtype), t.data, t.bytes));
  }
  return w.WriteFile(output_path);
}

}  // namespace floe
