// One document's result line of floe longdoc score (docs/longdoc.md lists the fields).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "doc_stats.h"
#include "doc_tokens.h"
#include "documents.h"
#include "floe/floe.h"

namespace floe::longdoc {

struct DocInfo {
  const DocumentRef* ref = nullptr;
  uint64_t bytes = 0;
  size_t first = 1;  // position of the document's first token (1 after a BOS, else 0)
  size_t window = 0, stride = 0;
};

// The fields every line has: "document", "path", and "line" for a JSONL record.
nlohmann::ordered_json DocumentJson(const DocumentRef& ref);
nlohmann::ordered_json ErrorJson(const DocumentRef& ref, const std::string& error);
// tokens: how many the session read (BOS first when the model has one); span texts are read
// from `doc`.
nlohmann::ordered_json ResultJson(const DocInfo& info, size_t tokens, const DocStats& stats,
                                  const DocTokens& doc);
// One line, invalid UTF-8 replaced by U+FFFD.
std::string Dump(const nlohmann::ordered_json& j);

}  // namespace floe::longdoc
