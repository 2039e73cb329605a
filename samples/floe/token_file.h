// Token-id files for the floe CLI (`logits --tokens`, `eval-attention --tokens`): one decimal id
// per line, blank lines ignored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace floe::cli {

// Appends the file's ids to *ids. false with *err naming the file and line on a bad line, a
// negative or too large id, or an unreadable file.
bool ReadTokenFile(const std::string& path, std::vector<int32_t>* ids, std::string* err);

}  // namespace floe::cli
