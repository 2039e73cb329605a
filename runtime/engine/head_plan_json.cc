#include "runtime/engine/head_plan_json.h"

#include <fstream>
#include <sstream>

#include "runtime/formats/checkpoint/json.h"

namespace floe {

namespace {

constexpr int64_t kMaxField = int64_t(1) << 31;  // layer, head, k, window, sinks
constexpr size_t kMaxEntries = size_t(1) << 20;

Status Bad(const std::string& where, const std::string& what) {
  return InvalidArgument("head plan: " + where + ": " + what);
}

Result<size_t> Count(const JsonValue& v, const std::string& where, const char* key) {
  if (!v.is_int())
    return Bad(where, std::string("'") + key + "' must be a whole number, got " +
                          (v.is_number() ? "a fraction" : JsonValue::TypeName(v.type())));
  const int64_t x = v.int_value();
  if (x < 0 || x > kMaxField)
    return Bad(where, std::string("'") + key + "' = " + std::to_string(x) + " is out of range [0, " +
                          std::to_string(kMaxField) + "]");
  return size_t(x);
}

// A spec object ("default" or one entry); `placed`: an entry, which also has layer and head.
Result<HeadSpec> ParseSpec(const JsonValue& o, const std::string& where, bool placed) {
  if (!o.is_object()) return Bad(where, "expected an object");
  const JsonValue* mode = o.Find("mode");
  if (!mode) return Bad(where, "'mode' is missing (dense, knn, window or recurrent)");
  if (!mode->is_string()) return Bad(where, "'mode' must be a string");
  auto m = ParseHeadMode(mode->string_value());
  if (!m.ok()) return Bad(where, m.status().message());
  HeadSpec s;
  s.mode = *m;
  for (const auto& [key, value] : o.members()) {
    if (key == "mode" || (placed && (key == "layer" || key == "head"))) continue;
    const bool knn = s.mode == HeadMode::kKnn, window = s.mode == HeadMode::kWindow;
    if (key == "k" && knn) {
      FLOE_ASSIGN_OR_RETURN(s.k, Count(value, where, "k"));
    } else if (key == "window" && (knn || window)) {
      FLOE_ASSIGN_OR_RETURN(s.window, Count(value, where, "window"));
    } else if (key == "sinks" && knn) {
      FLOE_ASSIGN_OR_RETURN(s.sinks, Count(value, where, "sinks"));
    } else if (key == "k" || key == "window" || key == "sinks") {
      return Bad(where, "'" + key + "' does not apply to mode '" + HeadModeName(s.mode) + "'");
    } else {
      return Bad(where, "unknown key '" + key + "'");
    }
  }
  if (s.mode == HeadMode::kWindow && !o.Find("window"))
    return Bad(where, "a window head needs 'window' (the keys it keeps)");
  return s;
}

}  // namespace

Result<HeadPlan> ParseHeadPlanJson(std::string_view text) {
  if (text.size() > kMaxHeadPlanBytes)
    return InvalidArgument("head plan: " + std::to_string(text.size()) + " bytes; at most " +
                           std::to_string(kMaxHeadPlanBytes));
  JsonLimits limits;
  limits.max_depth = 8;
  limits.max_values = size_t(8) << 20;
  auto doc = ParseJson(text, limits);
  if (!doc.ok()) return InvalidArgument("head plan: " + doc.status().message());
  const JsonValue& root = *doc;
  if (!root.is_object()) return InvalidArgument("head plan: the document must be a JSON object");
  HeadPlan plan;
  bool have_heads = false;
  for (const auto& [key, value] : root.members()) {
    if (key == "format") {
      if (!value.is_string() || value.string_value() != "floe-head-plan")
        return InvalidArgument("head plan: 'format' must be \"floe-head-plan\"");
    } else if (key == "version") {
      if (!value.is_int() || value.int_value() != 1)
        return InvalidArgument("head plan: unsupported 'version' (this floe reads version 1)");
    } else if (key == "default") {
      FLOE_ASSIGN_OR_RETURN(plan.default_spec, ParseSpec(value, "default", false));
    } else if (key == "heads") {
      if (!value.is_array()) return InvalidArgument("head plan: 'heads' must be an array");
      if (value.items().size() > kMaxEntries)
        return InvalidArgument("head plan: more than " + std::to_string(kMaxEntries) + " heads");
      have_heads = true;
      for (size_t i = 0; i < value.items().size(); ++i) {
        const JsonValue& e = value.items()[i];
        const std::string where = "heads[" + std::to_string(i) + "]";
        if (!e.is_object()) return Bad(where, "expected an object");
        const JsonValue* layer = e.Find("layer");
        const JsonValue* head = e.Find("head");
        if (!layer || !head) return Bad(where, "'layer' and 'head' are required");
        HeadPlanEntry entry;
        FLOE_ASSIGN_OR_RETURN(entry.layer, Count(*layer, where, "layer"));
        FLOE_ASSIGN_OR_RETURN(entry.head, Count(*head, where, "head"));
        FLOE_ASSIGN_OR_RETURN(entry.spec, ParseSpec(e, where, true));
        plan.heads.push_back(entry);
      }
    } else if (key == "info") {
      // free-form: what the tool that wrote the plan measured
    } else {
      return InvalidArgument("head plan: unknown key '" + key +
                             "' (expected format, version, default, heads, info)");
    }
  }
  if (!have_heads && !root.Find("default"))
    return InvalidArgument("head plan: neither 'default' nor 'heads' given");
  return plan;
}

Result<HeadPlan> LoadHeadPlanFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("head plan: cannot open '" + path + "'");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > kMaxHeadPlanBytes)
      return InvalidArgument("head plan '" + path + "': larger than " +
                             std::to_string(kMaxHeadPlanBytes) + " bytes");
  }
  auto plan = ParseHeadPlanJson(text);
  if (!plan.ok()) return InvalidArgument(path + ": " + plan.status().message());
  return plan;
}

namespace {

std::string SpecFields(const HeadSpec& s) {
  std::string o = "\"mode\": \"" + std::string(HeadModeName(s.mode)) + "\"";
  if (s.mode == HeadMode::kKnn)
    o += ", \"k\": " + std::to_string(s.k) + ", \"window\": " + std::to_string(s.window) +
         ", \"sinks\": " + std::to_string(s.sinks);
  if (s.mode == HeadMode::kWindow) o += ", \"window\": " + std::to_string(s.window);
  return o;
}

}  // namespace

std::string HeadPlanToJson(const HeadPlan& plan,
                           const std::vector<std::pair<std::string, std::string>>& info) {
  std::ostringstream o;
  o << "{\n  \"format\": \"floe-head-plan\",\n  \"version\": 1,\n";
  o << "  \"default\": {" << SpecFields(plan.default_spec) << "},\n";
  o << "  \"heads\": [";
  for (size_t i = 0; i < plan.heads.size(); ++i) {
    const HeadPlanEntry& e = plan.heads[i];
    o << (i ? ",\n" : "\n") << "    {\"layer\": " << e.layer << ", \"head\": " << e.head << ", "
      << SpecFields(e.spec) << "}";
  }
  o << (plan.heads.empty() ? "]" : "\n  ]");
  if (!info.empty()) {
    o << ",\n  \"info\": {";
    for (size_t i = 0; i < info.size(); ++i)
      o << (i ? ", " : "") << "\"" << info[i].first << "\": " << info[i].second;
    o << "}";
  }
  o << "\n}\n";
  return o.str();
}

}  // namespace floe
