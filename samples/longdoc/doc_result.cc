#include "doc_result.h"

#include <algorithm>
#include <cmath>

namespace floe::longdoc {

using json = nlohmann::ordered_json;

json DocumentJson(const DocumentRef& ref) {
  json j = {{"document", ref.id}, {"path", ref.path}};
  if (ref.line) j["line"] = ref.line;
  return j;
}

json ErrorJson(const DocumentRef& ref, const std::string& error) {
  json j = DocumentJson(ref);
  j["error"] = error;
  return j;
}

json ResultJson(const DocInfo& info, size_t tokens, const DocStats& stats,
                const DocTokens& doc) {
  json j = DocumentJson(*info.ref);
  const double n = double(stats.count());
  j["bytes"] = info.bytes;
  j["tokens"] = tokens - info.first;
  j["predicted"] = stats.count();
  j["nll"] = stats.nll_sum() / n;
  j["perplexity"] = std::exp(stats.nll_sum() / n);
  j["bits_per_byte"] = info.bytes ? stats.nll_sum() / std::log(2.0) / double(info.bytes) : 0.0;
  j["context"] = info.window ? "sliding" : "carried";
  if (info.window) {
    j["window"] = info.window;
    j["stride"] = info.stride;
  }
  json out = json::array();
  for (const Span& s : stats.TopSpans()) {
    const uint64_t b0 = std::min<uint64_t>(s.byte0, info.bytes);
    const uint64_t b1 = std::min<uint64_t>(std::max(s.byte1, b0), info.bytes);
    out.push_back({{"tokens", {s.first - info.first, s.end - info.first}},
                   {"bytes", {b0, b1}},
                   {"nll", s.nll},
                   {"mean_nll", s.nll / double(s.end - s.first)},
                   {"text", doc.Text(b0, b1)}});
  }
  j["spans"] = out;
  if (!stats.token_nll().empty()) j["token_nll"] = stats.token_nll();
  return j;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace floe::longdoc
