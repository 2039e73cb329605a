#include "runtime/model.h"

#include <cstring>

#include "runtime/network_loaders.h"
#include "runtime/tokenizer_factory.h"

namespace floe {

namespace {

bool ReportProgress(const LoadOptions& o, float fraction) { return !o.progress || o.progress(fraction); }

}  // namespace

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<Model> m(new Model());
  m->path_ = path;
  const std::string where = "'" + path + "'";
  if (!ReportProgress(options, 0.0f)) return Cancelled("model load cancelled");
  auto file = MappedFile::Open(path, options.mode);
  if (!file.ok()) return file.status();
  m->format_ = DetectModelFormat(file->data(), file->size());
  Result<LoadedNetwork> net = Internal("unreachable");
  switch (m->format_) {
    case ModelFormat::kGguf: {
      auto g = GgufFile::Parse(std::move(file).value());
      if (!g.ok()) return Status(g.status()).WithContext(where);
      m->gguf_.emplace(std::move(g).value());
      net = LoadNetworkFromGguf(*m->gguf_);
      if (net.ok() && options.tokenizer_path.empty()) {
        auto tok = TokenizerFromGguf(*m->gguf_);
        if (!tok.ok()) return Status(tok.status()).WithContext(where + " vocabulary");
        m->tokenizer_ = std::move(tok).value();
      }
      break;
    }
    case ModelFormat::kLlama2c:
      m->raw_ = std::move(file).value();
      net = LoadNetworkFromLlama2c(m->raw_.data(), m->raw_.size());
      break;
  }
  if (!net.ok()) return Status(net.status()).WithContext(where);
  if (!ReportProgress(options, 0.5f)) return Cancelled("model load cancelled");
  const size_t vocab_size = net->lm->vocab_size();
  if (!options.tokenizer_path.empty()) {
    FLOE_ASSIGN_OR_RETURN(m->tokenizer_, LoadTokenizerBin(options.tokenizer_path, vocab_size, options.mode));
  }
  if (m->tokenizer_ && m->tokenizer_->vocab_size() != vocab_size)
    return InvalidArgument("tokenizer has " + std::to_string(m->tokenizer_->vocab_size()) +
                           " tokens but the model's vocabulary is " + std::to_string(vocab_size));
  m->weight_bytes_ = net->weight_bytes;
  m->lm_ = std::move(net->lm);
  if (!ReportProgress(options, 1.0f)) return Cancelled("model load cancelled");
  return m;
}

}  // namespace floe
