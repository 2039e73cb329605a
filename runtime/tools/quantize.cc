#include "runtime/tools/quantize.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "platform/base/thread_context.h"
#include "platform/quant/encode_rows.h"
#include "runtime/formats/gguf/gguf_writer.h"

namespace floe {

namespace {

constexpr uint32_t kGgmlF32 = 0, kGgmlF16 = 1, kGgmlBF16 = 30;

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// "blk.N." -> N; -1 for tensors outside the layers (llama.cpp's weight_name_comparer).
int LayerOf(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

// llama.cpp's use_more_bits(i, n): the first and last eighth of the layers and every third
// layer between them.
bool UseMoreBits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// llama-quantize's choice of tensors (src/llama-quant.cpp): names ending in "weight", except
// norms, expert gates, positional and token-type embeddings, Mamba's conv1d, RWKV's bonus, LoRA
// and lerp tensors and T5's relative bias; floe further requires a 2-D f32/f16/bf16 tensor with
// more than one row and rows a multiple of the target's block (32 for the quantized types, 1
// for f16 / bf16).
bool Quantizable(const GgufTensorInfo& t, size_t block) {
  const bool plain = t.type == kGgmlF32 || t.type == kGgmlF16 || t.type == kGgmlBF16;
  if (!plain || t.ne.size() != 2 || t.ne[1] <= 1 || t.ne[0] % block != 0) return false;
  const std::string& n = t.name;
  if (n.size() < 6 || n.compare(n.size() - 6, 6, "weight") != 0) return false;
  for (const char* kept :
       {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "time_mix_first.weight",
        "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_decay_w1.weight",
        "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight"})
    if (Contains(n, kept)) return false;
  return n != "position_embd.weight" && n != "token_types.weight";
}

// A K-quant row that is not a multiple of 256 falls back as llama.cpp's
// llama_tensor_get_type does.
DType Fallback(DType t, uint64_t row) {
  if (row % 256 == 0) return t;
  switch (t) {
    case DType::kQ4_K:
      return DType::kQ5_0;
    case DType::kQ5_K:
      return DType::kQ5_1;
    case DType::kQ6_K:
      return DType::kQ8_0;
    default:
      return t;
  }
}

}  // namespace

Result<QuantizeScheme> ParseQuantizeScheme(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  // llama.cpp's llama_ftype for each: MOSTLY_Q8_0 7, Q4_0 2, Q4_1 3, Q5_0 8, Q5_1 9, Q4_K_S 14,
  // Q4_K_M 15, Q5_K_S 16, Q5_K_M 17, Q6_K 18, F16 1, BF16 32. The pure q4_K / q5_K files are all
  // q4_K / q5_K, which llama.cpp names "mostly" Q4_K_S / Q5_K_S.
  static const QuantizeScheme kSchemes[] = {
      {"q8_0", DType::kQ8_0, false, 7},   {"q4_0", DType::kQ4_0, false, 2},
      {"q4_1", DType::kQ4_1, false, 3},   {"q5_0", DType::kQ5_0, false, 8},
      {"q5_1", DType::kQ5_1, false, 9},   {"q4_K", DType::kQ4_K, false, 14},
      {"q5_K", DType::kQ5_K, false, 16},  {"q6_K", DType::kQ6_K, false, 18},
      {"q4_K_M", DType::kQ4_K, true, 15}, {"q5_K_M", DType::kQ5_K, true, 17},
      {"f16", DType::kF16, false, 1},     {"bf16", DType::kBF16, false, 32},
  };
  std::string names;
  for (const QuantizeScheme& s : kSchemes) {
    std::string n = s.name;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (n == lower) return s;
    names += std::string(names.empty() ? "" : ", ") + s.name;
  }
  return InvalidArgument("quantize: unknown type '" + name + "' (" + names + ")");
}

std::vector<uint32_t> PlanQuantizedTypes(const GgufFile& in, const QuantizeScheme& s) {
  const std::vector<GgufTensorInfo>& tensors = in.tensors();
  std::vector<uint32_t> types(tensors.size());
  std::vector<bool> quantizable(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    quantizable[i] = Quantizable(tensors[i], std::min<size_t>(DTypeBlockElems(s.base), 32));
    types[i] = quantizable[i] ? uint32_t(Fallback(s.base, tensors[i].ne[0])) : tensors[i].type;
  }
  const bool k_rules = s.mixture || s.base == DType::kQ6_K;
  if (!k_rules) return types;

  // llama-quantize visits tensors by layer, then name, and counts attn_v and ffn_down tensors in
  // that order (its i_attention_wv / i_ffn_down).
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = LayerOf(tensors[a].name), lb = LayerOf(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });
  int n_attention_wv = 0;
  bool has_output = false;
  for (const GgufTensorInfo& t : tensors) {
    n_attention_wv += Contains(t.name, "attn_v.weight") || Contains(t.name, "attn_qkv.weight") ||
                      Contains(t.name, "attn_kv_b.weight");
    has_output |= t.name == "output.weight";
  }
  int n_layer = 0;
  if (auto arch = in.GetString("general.architecture"); arch.ok())
    if (auto n = in.GetUint(*arch + ".block_count"); n.ok() && *n < (1u << 20)) n_layer = int(*n);
  int i_attention_wv = 0, i_ffn_down = 0;
  const DType q6 = DType::kQ6_K;
  for (size_t idx : order) {
    if (!quantizable[idx]) continue;
    const GgufTensorInfo& t = tensors[idx];
    const std::string& name = t.name;
    DType type = s.base;
    if (name == "output.weight" || (!has_output && name == "token_embd.weight")) {
      type = t.ne[0] % 256 != 0 ? DType::kQ8_0 : q6;
    } else if (name == "token_embd.weight") {
      // the base type
    } else if (Contains(name, "attn_v.weight")) {
      if (s.mixture && UseMoreBits(i_attention_wv, n_attention_wv)) type = q6;
      ++i_attention_wv;
    } else if (Contains(name, "ffn_down")) {
      if (s.mixture && UseMoreBits(i_ffn_down, n_layer)) type = q6;
      ++i_ffn_down;
    } else if (Contains(name, "attn_qkv.weight") && s.mixture) {
      type = s.base == DType::kQ4_K ? DType::kQ5_K : q6;
    }
    types[idx] = uint32_t(Fallback(type, t.ne[0]));
  }
  return types;
}

Status QuantizeGguf(const std::string& input_path, const std::string& output_path,
                    const QuantizeScheme& scheme, const QuantizeOptions& options) {
  FLOE_ASSIGN_OR_RETURN(GgufFile in, GgufFile::Open(input_path));
  const std::vector<uint32_t> types = PlanQuantizedTypes(in, scheme);
  GgufWriter w;
  for (const auto& [key, value] : in.metadata()) w.SetValue(key, value);
  w.SetUint32("general.file_type", scheme.file_type);
  ThreadContext threads(options.threads);
  const size_t count = in.tensors().size();
  for (size_t i = 0; i < count; ++i) {
    const GgufTensorInfo& t = in.tensors()[i];
    auto report = [&options, i, count, &t, type = types[i]] {
      if (options.progress) options.progress(i, count, t.name, type);
    };
    if (types[i] == t.type) {  // kept: written straight from the mapped input, no buffer
      FLOE_RETURN_IF_ERROR(w.AddTensor(t.name, t.ne, t.type, t.data, size_t(t.nbytes), report));
      continue;
    }
    FLOE_ASSIGN_OR_RETURN(TensorView v, in.GetTensorView(t.name));
    const DType type = DType(types[i]);
    const size_t row_bytes = DTypeBytes(type, v.cols);
    FLOE_RETURN_IF_ERROR(w.AddTensorFill(
        t.name, t.ne, types[i], v.rows * row_bytes,
        [v, type, row_bytes, report, &threads](uint8_t* dst) -> Status {
          report();
          // Rows in chunks of about 1 MiB of floats per task; each task converts its rows.
          const size_t grain = std::max<size_t>(1, (size_t(1) << 18) / v.cols);
          std::atomic<int> failed{0};  // 1: no memory for a task's rows, 2: an encoding error
          threads.ParallelFor(v.rows, grain, [&](size_t r0, size_t r1) {
            std::vector<float> rows;
            try {
              rows.resize((r1 - r0) * v.cols);
            } catch (const std::bad_alloc&) {
              failed = 1;
              return;
            }
            ToF32(v, r0 * v.cols, rows.size(), rows.data());
            if (!EncodeRowsTo(rows.data(), r1 - r0, v.cols, type, dst + r0 * row_bytes).ok())
              failed = 2;
          });
          if (failed == 1) return OutOfMemory("quantize: not enough memory for a tensor's rows");
          if (failed == 2) return Internal("quantize: rows could not be encoded");
          return Status::Ok();
        }));
  }
  return w.WriteFile(output_path);
}

Status QuantizeGguf(const std::string& input_path, const std::string& output_path, DType type) {
  FLOE_ASSIGN_OR_RETURN(QuantizeScheme scheme, ParseQuantizeScheme(DTypeName(type)));
  return QuantizeGguf(input_path, output_path, scheme);
}

}  // namespace floe
