#include "doc_result.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace floe::longdoc {

using json = nlohmann::ordered_json;

namespace {

// Decoded length of tokens[p] alone: decoders drop a piece's leading space at the start of a
// sequence, so it is the length of tokens[p-1..p] less that of tokens[p-1].
size_t PieceBytes(floe_model* model, std::span<const floe_token> tokens, size_t p) {
  char buf[512];
  size_t both = 0, prev = 0;
  auto decode = [&](size_t from, size_t n, size_t* len) {
    const floe_status st = floe_detokenize(model, &tokens[from], n, buf, sizeof buf, len);
    if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) *len = 0;
  };
  if (p == 0) {
    decode(0, 1, &both);
    return both;
  }
  decode(p - 1, 2, &both);
  decode(p - 1, 1, &prev);
  return both > prev ? both - prev : 0;
}

// Byte offsets, in the text the tokens decode to, of the starts of tokens[p] for each p in
// *offsets (keys); one pass. For a tokenizer that decodes the document back to its bytes (byte
// fallback, no normalisation) these are offsets into the document.
void ByteOffsets(floe_model* model, std::span<const floe_token> tokens,
                 std::map<size_t, uint64_t>* offsets) {
  uint64_t at = 0;
  auto next = offsets->begin();
  for (size_t p = 0; p <= tokens.size() && next != offsets->end(); ++p) {
    while (next != offsets->end() && next->first == p) (next++)->second = at;
    if (p < tokens.size()) at += PieceBytes(model, tokens, p);
  }
}

}  // namespace

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

json ResultJson(floe_model* model, const DocInfo& info, std::span<const floe_token> tokens,
                const std::string& text, const DocStats& stats) {
  json j = DocumentJson(*info.ref);
  const double n = double(stats.count());
  j["bytes"] = info.bytes;
  j["tokens"] = tokens.size() - info.first;
  j["predicted"] = stats.count();
  j["nll"] = stats.nll_sum() / n;
  j["perplexity"] = std::exp(stats.nll_sum() / n);
  j["bits_per_byte"] = info.bytes ? stats.nll_sum() / std::log(2.0) / double(info.bytes) : 0.0;
  j["context"] = info.window ? "sliding" : "carried";
  if (info.window) {
    j["window"] = info.window;
    j["stride"] = info.stride;
  }
  const std::vector<Span> spans = stats.TopSpans();
  std::map<size_t, uint64_t> offsets;
  for (const Span& s : spans) offsets[s.first] = offsets[s.end] = 0;
  ByteOffsets(model, tokens, &offsets);
  // Offsets count from the document's first token (after a BOS, which decodes to nothing).
  uint64_t origin = 0;
  if (!offsets.empty()) {
    std::map<size_t, uint64_t> o{{info.first, 0}};
    ByteOffsets(model, tokens, &o);
    origin = o[info.first];
  }
  json out = json::array();
  for (const Span& s : spans) {
    const uint64_t b0 = std::min<uint64_t>(offsets[s.first] - origin, text.size());
    const uint64_t b1 = std::min<uint64_t>(std::max(offsets[s.end] - origin, b0), text.size());
    out.push_back({{"tokens", {s.first - info.first, s.end - info.first}},
                   {"bytes", {b0, b1}},
                   {"nll", s.nll},
                   {"mean_nll", s.nll / double(s.end - s.first)},
                   {"text", text.substr(b0, b1 - b0)}});
  }
  j["spans"] = out;
  if (!stats.token_nll().empty()) j["token_nll"] = stats.token_nll();
  return j;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace floe::longdoc
