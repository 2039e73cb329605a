// A loaded model: the file(s) it came from (memory-mapped, weights used in place), the network
// (a CausalLm from models/), and its tokenizer. Immutable after Load; safe to share between
// sessions on different threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/causal_lm.h"
#include "platform/base/log.h"
#include "platform/base/mapped_file.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/engine/network_loaders.h"
#include "runtime/engine/weight_repacking.h"
#include "runtime/tokenizers/tokenizer.h"

namespace floe {

struct LoadOptions {
  std::string tokenizer_path;  // llama2.c tokenizer.bin; overrides a GGUF's own vocab
  FileLoadMode mode = FileLoadMode::kMmap;
  // Page backing of a mapped model file (see HugePages). The default reads a large file that is
  // cached in small pages in again from disk, once, so that decode streams it from 2 MiB pages.
  HugePages huge_pages = HugePages::kRefault;
  // Called with a fraction in [0, 1]; return false to cancel the load (-> kCancelled).
  std::function<bool(float)> progress;
  // Receives a line about what was loaded (kInfo) and warnings; null = silent.
  const Logger* logger = nullptr;
  // Where this CPU has the AVX-512 VNNI panel kernels, copy the Q4_0 / Q8_0 projection matrices
  // into 16-row panels at load (runtime/engine/weight_repacking.h; docs/quantization.md): faster
  // decode and prefill, the same memory, logits within the kernels' rounding of the unrepacked
  // ones. false keeps every weight in the file's layout; so does kRead, whose buffer cannot give
  // the copied matrices' memory back.
  bool repack_weights = true;
};

class Model {
 public:
  // Detects the format from the file's first bytes ("GGUF", the rwkv.cpp magic, a zip
  // (torch.save), a safetensors header, else llama2.c). For PyTorch / safetensors checkpoints
  // the Hugging Face config.json in the same directory is read too when present (TransNormerLLM
  // needs it).
  static Result<std::unique_ptr<Model>> Load(const std::string& path,
                                             const LoadOptions& options = {});

  const CausalLm& lm() const { return *lm_; }
  ModelFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  // nullptr when the file had no vocabulary and none was given.
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  // The GGUF file, when the model came from one (for metadata queries); else nullptr.
  const GgufFile* gguf() const { return gguf_ ? &*gguf_ : nullptr; }
  size_t weight_bytes() const { return weight_bytes_; }
  // The type of the model's weights as the file stores them: that of its largest weight family
  // (runtime/engine/weight_families.h), e.g. "f16" or "q8_0"; "?" when unknown.
  const std::string& weight_type() const { return weight_type_; }
  // The model file as loaded (its huge_page_bytes() tells how much of it 2 MiB pages map).
  const MappedFile& file() const { return gguf_ ? gguf_->file() : raw_; }
  const std::string& architecture() const { return architecture_; }
  // What the load repacked (LoadOptions::repack_weights): matrices, bytes, seconds.
  const RepackedWeights& repacked() const { return repacked_; }
  // The file's metadata as (key, text) pairs: GGUF keys with their values (strings raw, numbers
  // in decimal, arrays as "[n items]"); other formats expose general.architecture and
  // <arch>.context_length / <arch>.vocab_size.
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

 private:
  Model() = default;
  std::string path_;
  ModelFormat format_ = ModelFormat::kGguf;
  std::optional<GgufFile> gguf_;
  MappedFile raw_;  // non-GGUF files (llama2.c checkpoints, rwkv.cpp files)
  RepackedWeights repacked_;  // before lm_: the network's views point into it
  std::unique_ptr<CausalLm> lm_;
  std::unique_ptr<Tokenizer> tokenizer_;
  size_t weight_bytes_ = 0;
  std::string weight_type_ = "?";
  std::string architecture_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

}  // namespace floe
