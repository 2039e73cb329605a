#include "runtime/model.h"

#include <cstring>

#include "models/llama/llama_model.h"
#include "runtime/gguf_llama.h"
#include "runtime/llama2c_checkpoint.h"
#include "runtime/spm_vocab.h"

namespace floe {

namespace {

bool ReportProgress(const LoadOptions& o, float fraction) { return !o.progress || o.progress(fraction); }

Result<SpmTokenizer> LoadTokenizerBin(const std::string& path, size_t vocab_size, FileLoadMode mode) {
  FLOE_ASSIGN_OR_RETURN(MappedFile f, MappedFile::Open(path, mode));
  auto vocab = LoadLlama2cTokenizer(f.data(), f.size(), vocab_size);
  if (!vocab.ok()) return Status(vocab.status()).WithContext("tokenizer '" + path + "'");
  auto tok = SpmTokenizer::Create(std::move(vocab).value());
  if (!tok.ok()) return Status(tok.status()).WithContext("tokenizer '" + path + "'");
  return std::move(tok).value();
}

size_t WeightBytes(const LlamaWeights& w) {
  size_t n = w.token_embd.bytes() + w.output_norm.bytes() + (w.output.data != w.token_embd.data ? w.output.bytes() : 0);
  for (const auto& L : w.layers)
    n += L.attn_norm.bytes() + L.wq.bytes() + L.wk.bytes() + L.wv.bytes() + L.wo.bytes() + L.ffn_norm.bytes() +
         L.ffn_gate.bytes() + L.ffn_up.bytes() + L.ffn_down.bytes();
  return n;
}

}  // namespace

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<Model> m(new Model());
  m->path_ = path;
  if (!ReportProgress(options, 0.0f)) return Cancelled("model load cancelled");
  auto file = MappedFile::Open(path, options.mode);
  if (!file.ok()) return file.status();
  const bool is_gguf = file->size() >= 4 && std::memcmp(file->data(), "GGUF", 4) == 0;
  LlamaConfig config;
  LlamaWeights weights;
  if (is_gguf) {
    m->format_ = ModelFormat::kGguf;
    auto g = GgufFile::Parse(std::move(file).value());
    if (!g.ok()) return Status(g.status()).WithContext("'" + path + "'");
    m->gguf_.emplace(std::move(g).value());
    auto c = LlamaConfigFromGguf(*m->gguf_);
    if (!c.ok()) return Status(c.status()).WithContext("'" + path + "'");
    config = c.value();
    auto w = LlamaWeightsFromGguf(*m->gguf_, config);
    if (!w.ok()) return Status(w.status()).WithContext("'" + path + "'");
    weights = std::move(w).value();
    if (options.tokenizer_path.empty() && m->gguf_->Find("tokenizer.ggml.tokens")) {
      auto vocab = SpmVocabFromGguf(*m->gguf_);
      if (!vocab.ok()) return Status(vocab.status()).WithContext("'" + path + "' vocabulary");
      auto tok = SpmTokenizer::Create(std::move(vocab).value());
      if (!tok.ok()) return Status(tok.status()).WithContext("'" + path + "' vocabulary");
      m->tokenizer_.emplace(std::move(tok).value());
    }
  } else {
    m->format_ = ModelFormat::kLlama2c;
    m->raw_ = std::move(file).value();
    auto ck = ParseLlama2cCheckpoint(m->raw_.data(), m->raw_.size());
    if (!ck.ok()) return Status(ck.status()).WithContext("'" + path + "'");
    config = ck->config;
    weights = std::move(ck->weights);
  }
  if (!ReportProgress(options, 0.5f)) return Cancelled("model load cancelled");
  if (!options.tokenizer_path.empty()) {
    auto tok = LoadTokenizerBin(options.tokenizer_path, config.vocab_size, options.mode);
    if (!tok.ok()) return tok.status();
    m->tokenizer_.emplace(std::move(tok).value());
  }
  if (m->tokenizer_ && m->tokenizer_->vocab_size() != config.vocab_size)
    return InvalidArgument("tokenizer has " + std::to_string(m->tokenizer_->vocab_size()) +
                           " tokens but the model's vocabulary is " + std::to_string(config.vocab_size));
  m->weight_bytes_ = WeightBytes(weights);
  auto lm = LlamaModel::Create(config, std::move(weights));
  if (!lm.ok()) return Status(lm.status()).WithContext("'" + path + "'");
  m->lm_ = std::move(lm).value();
  if (!ReportProgress(options, 1.0f)) return Cancelled("model load cancelled");
  return m;
}

}  // namespace floe
