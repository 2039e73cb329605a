// Builds the right Tokenizer for a file: from a GGUF's tokenizer.ggml.* metadata (dispatching
// on tokenizer.ggml.model) or from a llama2.c tokenizer.bin.
#pragma once

#include <memory>
#include <string>

#include "platform/base/mapped_file.h"
#include "platform/base/status.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/tokenizer.h"

namespace floe {

// nullptr (and Ok) when the file carries no vocabulary (no tokenizer.ggml.tokens).
// tokenizer.ggml.model: "llama" -> SpmTokenizer, "gpt2" -> BpeTokenizer (byte-level BPE),
// "rwkv" -> RwkvWorldTokenizer. Others -> kUnsupported naming the model.
Result<std::unique_ptr<Tokenizer>> TokenizerFromGguf(const GgufFile& gguf);

// A llama2.c tokenizer.bin with vocab_size entries.
Result<std::unique_ptr<Tokenizer>> LoadTokenizerBin(const std::string& path, size_t vocab_size,
                                                    FileLoadMode mode);

}  // namespace floe
