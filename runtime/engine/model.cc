#include "runtime/engine/model.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "platform/kernels/ops.h"
#include "runtime/formats/gguf/gguf_inspect.h"
#include "runtime/engine/network_loaders.h"
#include "runtime/tokenizers/tokenizer_factory.h"

namespace floe {

namespace {

bool ReportProgress(const LoadOptions& o, float fraction) {
  return !o.progress || o.progress(fraction);
}

std::string MetadataText(const GgufValue& v) {
  if (v.type == GgufType::kString) return v.s;
  if (v.type == GgufType::kArray) {
    std::string text(1, '[');  // built piecewise: GCC 12's -Wrestrict misfires on "[" + ...
    text += std::to_string(v.array.size());
    text += " items]";
    return text;
  }
  return FormatGgufValue(v);
}

// Hugging Face checkpoints keep their hyperparameters in config.json beside the weights. Reads
// `<directory of model_path>/config.json`: "" when there is none; an error when it exists but
// cannot be read or is larger than any real config (1 MiB).
Result<std::string> ReadSidecarConfig(const std::string& model_path) {
  constexpr size_t kMaxConfigBytes = size_t(1) << 20;
  const std::filesystem::path p = std::filesystem::path(model_path).parent_path() / "config.json";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::string();
  std::string where(1, '\'');  // built piecewise: GCC 12's -Wrestrict misfires on "'" + ...
  where += p.string();
  where += '\'';
  std::ifstream in(p, std::ios::binary);
  if (!in) return IoError("cannot open " + where);
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > kMaxConfigBytes)
      return InvalidArgument(where + " is larger than 1 MiB; not a model config");
  }
  if (in.bad()) return IoError("error reading " + where);
  return text;
}

}  // namespace

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<Model> m(new Model());
  m->path_ = path;
  const std::string where = "'" + path + "'";
  if (!ReportProgress(options, 0.0f)) return Cancelled("model load cancelled");
  auto file = MappedFile::Open(path, options.mode, options.huge_pages);
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
    case ModelFormat::kRwkvCpp:
      m->raw_ = std::move(file).value();
      net = LoadNetworkFromRwkvCpp(m->raw_.data(), m->raw_.size());
      break;
    case ModelFormat::kTorch:
    case ModelFormat::kSafetensors: {
      m->raw_ = std::move(file).value();
      FLOE_ASSIGN_OR_RETURN(std::string config_json, ReadSidecarConfig(path));
      net = LoadNetworkFromTensorFile(m->format_, m->raw_.data(), m->raw_.size(), config_json);
      break;
    }
  }
  if (!net.ok()) return Status(net.status()).WithContext(where);
  if (!m->tokenizer_ && options.tokenizer_path.empty())
    m->tokenizer_ = std::move(net->implied_tokenizer);
  if (!ReportProgress(options, 0.5f)) return Cancelled("model load cancelled");
  const size_t vocab_size = net->lm->vocab_size();
  if (!options.tokenizer_path.empty()) {
    FLOE_ASSIGN_OR_RETURN(m->tokenizer_,
                          LoadTokenizerBin(options.tokenizer_path, vocab_size, options.mode));
  }
  if (m->tokenizer_ && m->tokenizer_->vocab_size() != vocab_size)
    return InvalidArgument("tokenizer has " + std::to_string(m->tokenizer_->vocab_size()) +
                           " tokens but the model's vocabulary is " + std::to_string(vocab_size));
  m->weight_bytes_ = net->weight_bytes;
  m->weight_type_ = net->weight_type;
  m->lm_ = std::move(net->lm);
  m->architecture_ = m->lm_->architecture();
  if (options.repack_weights && RowPanelKernelsPreferred()) {  // from a mapped file only
    auto repacked = RepackWeights(*m->lm_, m->file());
    if (!repacked.ok()) return Status(repacked.status()).WithContext(where);
    m->repacked_ = std::move(repacked).value();
    if (options.logger && m->repacked_.matrices() > 0)
      options.logger->Log(LogLevel::kInfo,
                          "repacked " + std::to_string(m->repacked_.matrices()) +
                              " q4_0/q8_0 matrices (" + std::to_string(m->repacked_.bytes() >> 20) +
                              " MiB) into 16-row panels in " +
                              std::to_string(int(m->repacked_.seconds() * 1000.0)) + " ms; " +
                              std::to_string(m->repacked_.released_bytes() >> 20) +
                              " MiB of the file's pages given back");
  }
  if (m->gguf_) {
    for (const auto& [key, value] : m->gguf_->metadata())
      m->metadata_.emplace_back(key, MetadataText(value));
  } else {
    m->metadata_.emplace_back("general.architecture", m->architecture_);
    m->metadata_.emplace_back(m->architecture_ + ".context_length",
                              std::to_string(m->lm_->context_length()));
    m->metadata_.emplace_back(m->architecture_ + ".vocab_size",
                              std::to_string(m->lm_->vocab_size()));
  }
  if (options.logger)
    options.logger->Log(
        LogLevel::kInfo,
        "loaded '" + path + "': " + ModelFormatName(m->format_) + ", " + m->architecture_ + ", " +
            std::to_string(m->weight_bytes_) + " weight bytes, vocabulary " +
            std::to_string(vocab_size) +
            (m->tokenizer_ ? std::string(" (") + std::string(m->tokenizer_->kind()) + ")"
                           : std::string(" (no tokenizer)")) +
            (m->file().huge_page_bytes() ? "; " + DescribeHugePages(m->file()) : std::string()));
  if (!ReportProgress(options, 1.0f)) return Cancelled("model load cancelled");
  return m;
}

}  // namespace floe
