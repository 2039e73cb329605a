// Shared helpers of the byte-level BPE tests: the llama.cpp test-vector reader, file reading,
// and the GPT-2 vocabulary from shared/data.
#pragma once

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/tokenizers/bpe_tokenizer.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/tokenizer_factory.h"
#include "test_data.h"

namespace floe::testing {

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct VocabVector {
  std::string input;
  std::vector<int32_t> ids;
};

// llama.cpp tests/test-tokenizer-0.cpp layout: inputs separated by "\n__ggml_vocab_test__\n"
// (the file ends with one, which closes the last input); one output line of space-separated
// ids per input.
inline std::vector<VocabVector> ReadVocabVectors(const std::string& vocab_path) {
  const std::string inp = ReadFileBytes(vocab_path + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(inp.substr(pos));
      break;
    }
    inputs.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(vocab_path + ".out");
  REQUIRE(out.good());
  std::vector<VocabVector> vectors;
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    REQUIRE(i < inputs.size());
    VocabVector v{inputs[i], {}};
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) v.ids.push_back(id);
    vectors.push_back(std::move(v));
  }
  REQUIRE(vectors.size() == inputs.size());
  return vectors;
}

inline std::string Gpt2VocabPath() { return DataPath("tokenizers/ggml-vocab-gpt-2.gguf"); }

// The GPT-2 vocabulary loaded the way models load it (GgufFile::Open + TokenizerFromGguf).
inline std::unique_ptr<Tokenizer> LoadGpt2Tokenizer() {
  auto f = GgufFile::Open(Gpt2VocabPath());
  INFO(f.status().ToString());
  REQUIRE(f.ok());
  auto t = TokenizerFromGguf(*f);
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  REQUIRE(*t != nullptr);
  return std::move(t).value();
}

inline std::string Hex(std::string_view s) {
  std::string out;
  char buf[4];
  for (const char c : s) {
    std::snprintf(buf, sizeof(buf), "%02X ", static_cast<unsigned>(static_cast<uint8_t>(c)));
    out += buf;
  }
  return out;
}

}  // namespace floe::testing
