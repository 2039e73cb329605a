#include "runtime/tools/make_model.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "platform/quant/encode_rows.h"
#include "runtime/engine/architectures.h"
#include "runtime/formats/gguf/gguf_model_writer.h"
#include "platform/quant/quant.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/tokenizers/spm_vocab.h"

namespace floe {

namespace {

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
  for (int b = 0; b < 256; ++b)
    add(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">", TokenType::kByte);
  add(std::string(kSpmSpace), TokenType::kNormal);
  for (char c = 33; c < 127; ++c) add(std::string(1, c), TokenType::kNormal);
  for (char c = 33; c < 127; ++c) add(std::string(kSpmSpace) + c, TokenType::kNormal);
  for (size_t i = 0; v.tokens.size() < n; ++i)
    add(std::string(kSpmSpace) + "t" + std::to_string(i), TokenType::kNormal);
  v.tokens.resize(n);
  v.scores.resize(n);
  v.types.resize(n);
  return v;
}

uint32_t FileType(DType t) {
  switch (t) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1;
    case DType::kQ4_0:
      return 2;
    case DType::kQ4_1:  // llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_1
      return 3;
    case DType::kQ5_1:  // LLAMA_FTYPE_MOSTLY_Q5_1
      return 9;
    case DType::kQ8_0:
      return 7;
    case DType::kBF16:
      return 32;
    default:
      return 0;
  }
}

}  // namespace

Result<DType> ParseDType(const std::string& name) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                  DType::kQ5_1, DType::kQ4_K, DType::kQ6_K})
    if (name == DTypeName(t) || (name == "q4_k" && t == DType::kQ4_K) ||
        (name == "q6_k" && t == DType::kQ6_K))
      return t;
  return InvalidArgument("unknown type '" + name +
                         "' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_1, q4_K, q6_K)");
}

Status MakeModelGguf(const MakeModelOptions& o) {
  const Architecture* arch = FindArchitecture(o.arch);
  if (arch == nullptr || arch->make_random == nullptr)
    return InvalidArgument("make-model: unknown arch '" + o.arch + "' (" + ArchitectureNames() +
                           ")");
  const ModelPreset* preset = nullptr;
  std::string presets;
  for (const ModelPreset& p : arch->presets) {
    if (o.preset == p.name) preset = &p;
    presets += std::string(presets.empty() ? "" : ", ") + p.name;
  }
  if (preset == nullptr)
    return InvalidArgument("make-model: unknown preset '" + o.preset + "' for " + o.arch + " (" +
                           presets + ")");
  bool known_type = false;
  std::string types;
  for (DType t : arch->random_types) {
    known_type |= o.type == t;
    types += std::string(types.empty() ? "" : ", ") + DTypeName(t);
  }
  if (!known_type)
    return InvalidArgument("make-model writes " + o.arch + " weights as " + types + ", not " +
                           DTypeName(o.type));
  if (o.output_path.empty()) return InvalidArgument("make-model: no output path");
  if (!o.rope.type.empty() && !arch->rope_scaling)
    return InvalidArgument("make-model: " + o.arch + " has no RoPE scaling (--rope-scaling)");
  constexpr size_t kMaxContext = size_t(1) << 24;
  if (o.context_length > kMaxContext)
    return InvalidArgument("make-model: context length " + std::to_string(o.context_length) +
                           " exceeds " + std::to_string(kMaxContext));
  GgufWriter w;
  w.SetString("general.architecture", arch->name);
  w.SetString("general.name", "floe-random-" + o.preset);
  w.SetUint32("general.file_type", FileType(o.type));
  w.SetUint32("general.alignment", 32);
  GgufModelWriter out(w);
  RandomModelOptions r;
  r.preset = o.preset;
  r.type = o.type;
  r.seed = o.seed;
  r.context_length = o.context_length;
  r.rope = o.rope;
  // A valid SentencePiece vocabulary of the preset's size, so the file runs prompts.
  try {
    return arch->make_random(r, out, [&]() -> Status {
      WriteSpmVocabToGguf(SyntheticVocab(preset->vocab_size), &w);
      return w.WriteFile(o.output_path);
    });
  } catch (const std::bad_alloc&) {
    return OutOfMemory("make-model: not enough memory for the " + o.preset + " " + o.arch +
                       " weights");
  }
}

}  // namespace floe
