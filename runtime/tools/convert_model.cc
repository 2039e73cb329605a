#include "runtime/tools/convert_model.h"

#include <string>
#include <vector>

#include "runtime/engine/architectures.h"
#include "runtime/engine/network_loaders.h"
#include "runtime/formats/gguf/gguf_model_writer.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/tokenizers/rwkv_world_tokenizer.h"
#include "runtime/tokenizers/spm_tokenizer.h"
#include "runtime/tokenizers/spm_vocab.h"

namespace floe {

Status ConvertModelToGguf(const Model& model, const std::string& name,
                          const std::string& output_path) {
  const Architecture* arch = FindArchitecture(model.architecture());
  if (arch == nullptr || arch->write_gguf == nullptr)
    return Unsupported("floe convert does not write " + model.architecture() +
                       " models (their GGUF files come from llama.cpp's converters)");
  // The tensors the model was loaded from, for architectures that copy them unchanged.
  TensorSet source;
  if (model.format() == ModelFormat::kTorch || model.format() == ModelFormat::kSafetensors ||
      model.format() == ModelFormat::kRwkvCpp) {
    FLOE_ASSIGN_OR_RETURN(
        source, ReadCheckpointTensors(model.format(), model.file().data(), model.file().size()));
  }
  GgufWriter g;
  g.SetString("general.architecture", arch->name);
  g.SetString("general.name", name);
  g.SetUint32("general.alignment", 32);
  GgufModelWriter out(g);
  FLOE_RETURN_IF_ERROR(arch->write_gguf(model.lm(), source, out));
  const Tokenizer* tok = model.tokenizer();
  if (const auto* spm = dynamic_cast<const SpmTokenizer*>(tok)) {
    WriteSpmVocabToGguf(spm->vocab(), &g);
  } else if (tok != nullptr && (tok->kind() == "rwkv-world" || tok->kind() == "bytes")) {
    std::vector<std::string> tokens;
    tokens.reserve(tok->vocab_size());
    for (size_t i = 0; i < tok->vocab_size(); ++i)
      tokens.push_back(EscapeRwkvToken(tok->TokenBytes(int32_t(i))));
    g.SetString("tokenizer.ggml.model", "rwkv");
    g.SetStringArray("tokenizer.ggml.tokens", std::move(tokens));
    g.SetInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(tok->vocab_size(), 1));
  }
  return g.WriteFile(output_path);
}

}  // namespace floe
