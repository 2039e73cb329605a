#include "runtime/make_model.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "models/llama/llama_config.h"
#include "platform/quant/quant.h"
#include "runtime/gguf_reader.h"
#include "runtime/gguf_writer.h"
#include "runtime/spm_vocab.h"

namespace floe {

namespace {

struct Preset {
  size_t dim, layers, heads, kv_heads, ffn, vocab, context;
};

Result<Preset> FindPreset(const std::string& name) {
  if (name == "tiny") return Preset{256, 4, 8, 4, 768, 32000, 32768};
  if (name == "110m") return Preset{768, 12, 12, 12, 2048, 32000, 32768};
  if (name == "1b") return Preset{2048, 16, 32, 8, 8192, 32000, 32768};
  return InvalidArgument("unknown preset '" + name + "' (tiny, 110m, 1b)");
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

SpmVocab SyntheticVocab(size_t n) {
  SpmVocab v;
  auto add = [&](std::string piece, TokenType type) {
    v.scores.push_back(-float(v.tokens.size()));
    v.tokens.push_back(std::move(piece));
    v.types.push_back(type);
  };
  add("<unk>", TokenType::kUnknown);
  add("<s>", TokenType::kControl);
  add("</s>", TokenType::kControl);
  static const char* kHex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) add(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">", TokenType::kByte);
  add(std::string(kSpmSpace), TokenType::kNormal);
  for (char c = 33; c < 127; ++c) add(std::string(1, c), TokenType::kNormal);
  for (char c = 33; c < 127; ++c) add(std::string(kSpmSpace) + c, TokenType::kNormal);
  for (size_t i = 0; v.tokens.size() < n; ++i) add(std::string(kSpmSpace) + "t" + std::to_string(i), TokenType::kNormal);
  v.tokens.resize(n);
  v.scores.resize(n);
  v.types.resize(n);
  return v;
}

// Rows x cols floats, uniform with standard deviation `std`, from (seed, tensor id).
void RandomRows(uint64_t seed, uint64_t id, size_t n, float std_dev, float* out) {
  const float a = std_dev * std::sqrt(3.0f);
  uint64_t s = Mix(seed ^ Mix(id));
  for (size_t i = 0; i < n; ++i) {
    s = Mix(s);
    out[i] = (float(s >> 40) * (2.0f / 16777216.0f) - 1.0f) * a;
  }
}

// Converts `rows` rows of `cols` floats to `type` into *out (resized).
Status Encode(const float* x, size_t rows, size_t cols, DType type, std::vector<uint8_t>* out) {
  out->resize(rows * DTypeBytes(type, cols));
  uint8_t* p = out->data();
  const size_t rb = DTypeBytes(type, cols);
  for (size_t r = 0; r < rows; ++r, p += rb) {
    const float* row = x + r * cols;
    switch (type) {
      case DType::kF32: std::memcpy(p, row, cols * 4); break;
      case DType::kF16:
        for (size_t c = 0; c < cols; ++c) {
          const uint16_t h = F32ToF16(row[c]);
          std::memcpy(p + 2 * c, &h, 2);
        }
        break;
      case DType::kBF16:
        for (size_t c = 0; c < cols; ++c) {
          const uint16_t h = F32ToBF16(row[c]);
          std::memcpy(p + 2 * c, &h, 2);
        }
        break;
      case DType::kQ8_0: QuantizeRowQ8_0(row, cols, reinterpret_cast<BlockQ8_0*>(p)); break;
      case DType::kQ4_0: QuantizeRowQ4_0(row, cols, reinterpret_cast<BlockQ4_0*>(p)); break;
      default: return InvalidArgument(std::string("cannot write weights as ") + DTypeName(type));
    }
  }
  return Status::Ok();
}

uint32_t FileType(DType t) {
  switch (t) {
    case DType::kF32: return 0;
    case DType::kF16: return 1;
    case DType::kQ4_0: return 2;
    case DType::kQ8_0: return 7;
    case DType::kBF16: return 32;
    default: return 0;
  }
}

}  // namespace

Result<DType> ParseDType(const std::string& name) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K})
    if (name == DTypeName(t) || (name == "q4_k" && t == DType::kQ4_K) || (name == "q6_k" && t == DType::kQ6_K)) return t;
  return InvalidArgument("unknown type '" + name + "' (f32, f16, bf16, q8_0, q4_0)");
}

Status MakeRandomLlamaGguf(const MakeModelOptions& o) {
  FLOE_ASSIGN_OR_RETURN(Preset p, FindPreset(o.preset));
  if (!(o.type == DType::kF32 || o.type == DType::kF16 || o.type == DType::kQ8_0 || o.type == DType::kQ4_0))
    return InvalidArgument(std::string("make-model writes f32, f16, q8_0 or q4_0, not ") + DTypeName(o.type));
  if (o.output_path.empty()) return InvalidArgument("make-model: no output path");
  constexpr size_t kMaxContext = size_t(1) << 24;
  if (o.context_length > kMaxContext)
    return InvalidArgument("make-model: context length " + std::to_string(o.context_length) + " exceeds " +
                           std::to_string(kMaxContext));
  if (o.context_length > 0) p.context = o.context_length;
  if (o.arch != "llama" && o.arch != "qwen2") return InvalidArgument("make-model: unknown arch '" + o.arch + "' (llama, qwen2)");
  const std::string k = o.arch + ".";
  GgufWriter w;
  w.SetString("general.architecture", o.arch);
  w.SetString("general.name", "floe-random-" + o.preset);
  w.SetUint32("general.file_type", FileType(o.type));
  w.SetUint32("general.alignment", 32);
  w.SetUint32(k + "context_length", uint32_t(p.context));
  w.SetUint32(k + "embedding_length", uint32_t(p.dim));
  w.SetUint32(k + "block_count", uint32_t(p.layers));
  w.SetUint32(k + "feed_forward_length", uint32_t(p.ffn));
  w.SetUint32(k + "rope.dimension_count", uint32_t(p.dim / p.heads));
  w.SetUint32(k + "attention.head_count", uint32_t(p.heads));
  w.SetUint32(k + "attention.head_count_kv", uint32_t(p.kv_heads));
  w.SetFloat32(k + "attention.layer_norm_rms_epsilon", 1e-5f);
  w.SetFloat32(k + "rope.freq_base", 10000.0f);
  w.SetUint32(k + "vocab_size", uint32_t(p.vocab));
  WriteSpmVocabToGguf(SyntheticVocab(p.vocab), &w);

  std::vector<std::unique_ptr<std::vector<uint8_t>>> keep;  // data must live until WriteFile
  std::vector<float> scratch;
  uint64_t id = 0;
  auto matrix = [&](const std::string& name, size_t rows, size_t cols) -> Status {
    scratch.resize(rows * cols);
    RandomRows(o.seed, id++, rows * cols, 0.02f, scratch.data());
    keep.push_back(std::make_unique<std::vector<uint8_t>>());
    FLOE_RETURN_IF_ERROR(Encode(scratch.data(), rows, cols, o.type, keep.back().get()));
    return w.AddTensor(name, {cols, rows}, uint32_t(o.type), keep.back()->data(), keep.back()->size());
  };
  std::vector<float> ones(p.dim, 1.0f);
  std::vector<std::unique_ptr<std::vector<float>>> biases;
  auto bias = [&](const std::string& name, size_t n) {
    biases.push_back(std::make_unique<std::vector<float>>(n));
    RandomRows(o.seed, id++, n, 0.02f, biases.back()->data());
    return w.AddTensor(name, {n}, 0, biases.back()->data(), n * 4);
  };
  auto norm = [&](const std::string& name) {
    ++id;
    return w.AddTensor(name, {p.dim}, 0, ones.data(), ones.size() * 4);
  };
  const size_t hd = p.dim / p.heads;
  FLOE_RETURN_IF_ERROR(matrix(llama_names::kTokenEmbd, p.vocab, p.dim));
  for (size_t l = 0; l < p.layers; ++l) {
    using llama_names::Layer;
    FLOE_RETURN_IF_ERROR(norm(Layer(l, "attn_norm")));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_q"), p.heads * hd, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_k"), p.kv_heads * hd, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_v"), p.kv_heads * hd, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_output"), p.dim, p.heads * hd));
    if (o.arch == "qwen2") {
      FLOE_RETURN_IF_ERROR(bias(llama_names::LayerBias(l, "attn_q"), p.heads * hd));
      FLOE_RETURN_IF_ERROR(bias(llama_names::LayerBias(l, "attn_k"), p.kv_heads * hd));
      FLOE_RETURN_IF_ERROR(bias(llama_names::LayerBias(l, "attn_v"), p.kv_heads * hd));
    }
    FLOE_RETURN_IF_ERROR(norm(Layer(l, "ffn_norm")));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "ffn_gate"), p.ffn, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "ffn_up"), p.ffn, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "ffn_down"), p.dim, p.ffn));
  }
  FLOE_RETURN_IF_ERROR(norm(llama_names::kOutputNorm));
  FLOE_RETURN_IF_ERROR(matrix(llama_names::kOutput, p.vocab, p.dim));
  return w.WriteFile(o.output_path);
}

Status QuantizeGguf(const std::string& input_path, const std::string& output_path, DType type) {
  if (type != DType::kQ8_0 && type != DType::kQ4_0)
    return InvalidArgument(std::string("quantize supports q8_0 and q4_0, not ") + DTypeName(type));
  FLOE_ASSIGN_OR_RETURN(GgufFile in, GgufFile::Open(input_path));
  GgufWriter w;
  for (const auto& [key, value] : in.metadata()) w.SetValue(key, value);
  w.SetUint32("general.file_type", FileType(type));
  std::vector<std::unique_ptr<std::vector<uint8_t>>> keep;
  std::vector<float> rows;
  for (const GgufTensorInfo& t : in.tensors()) {
    const bool plain = t.type == 0 || t.type == 1 || t.type == 30;
    if (plain && t.ne.size() == 2 && t.ne[1] > 1 && t.ne[0] % 32 == 0) {
      FLOE_ASSIGN_OR_RETURN(TensorView v, in.GetTensorView(t.name));
      rows.resize(v.rows * v.cols);
      ToF32(v, 0, rows.size(), rows.data());
      keep.push_back(std::make_unique<std::vector<uint8_t>>());
      FLOE_RETURN_IF_ERROR(Encode(rows.data(), v.rows, v.cols, type, keep.back().get()));
      FLOE_RETURN_IF_ERROR(w.AddTensor(t.name, t.ne, uint32_t(type), keep.back()->data(), keep.back()->size()));
    } else {
      FLOE_RETURN_IF_ERROR(w.AddTensor(t.name, t.ne, t.type, t.data, size_t(t.nbytes)));
    }
  }
  return w.WriteFile(output_path);
}

}  // namespace floe
