#include "runtime/tokenizers/tokenizer_factory.h"

#include "runtime/tokenizers/bpe_tokenizer.h"
#include "runtime/tokenizers/rwkv_world_tokenizer.h"
#include "runtime/tokenizers/spm_tokenizer.h"
#include "runtime/tokenizers/spm_vocab.h"

namespace floe {

Result<std::unique_ptr<Tokenizer>> TokenizerFromGguf(const GgufFile& gguf) {
  if (!gguf.Find("tokenizer.ggml.tokens")) return std::unique_ptr<Tokenizer>();
  std::string model = "llama";
  if (gguf.Find("tokenizer.ggml.model")) {
    FLOE_ASSIGN_OR_RETURN(model, gguf.GetString("tokenizer.ggml.model"));
  }
  if (model == "llama") {
    FLOE_ASSIGN_OR_RETURN(SpmVocab vocab, SpmVocabFromGguf(gguf));
    FLOE_ASSIGN_OR_RETURN(SpmTokenizer tok, SpmTokenizer::Create(std::move(vocab)));
    return std::unique_ptr<Tokenizer>(new SpmTokenizer(std::move(tok)));
  }
  if (model == "gpt2") return BpeTokenizerFromGguf(gguf);
  if (model == "rwkv") return RwkvWorldTokenizerFromGguf(gguf);
  return Unsupported("tokenizer.ggml.model '" + model +
                     "' is not supported (supported: llama, gpt2, rwkv)");
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizerBin(const std::string& path, size_t vocab_size,
                                                    FileLoadMode mode) {
  FLOE_ASSIGN_OR_RETURN(MappedFile f, MappedFile::Open(path, mode));
  auto vocab = LoadLlama2cTokenizer(f.data(), f.size(), vocab_size);
  if (!vocab.ok()) return Status(vocab.status()).WithContext("tokenizer '" + path + "'");
  auto tok = SpmTokenizer::Create(std::move(vocab).value());
  if (!tok.ok()) return Status(tok.status()).WithContext("tokenizer '" + path + "'");
  return std::unique_ptr<Tokenizer>(new SpmTokenizer(std::move(tok).value()));
}

}  // namespace floe
