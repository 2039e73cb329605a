// ParseJson: the strict recursive-descent parser behind json.h.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <unordered_set>

#include "runtime/formats/checkpoint/json.h"
#include "runtime/tokenizers/utf8.h"

namespace floe {

namespace {

// Recursive descent; recursion depth is bounded by max_depth <= kMaxJsonDepth.
class Parser {
 public:
  Parser(std::string_view s, const JsonLimits& limits)
      : s_(s), limits_(limits), max_depth_(std::min(limits.max_depth, kMaxJsonDepth)) {}

  Result<JsonValue> Document() {
    JsonValue v;
    FLOE_RETURN_IF_ERROR(Value(0, &v));
    SkipSpace();
    if (pos_ != s_.size()) return Error("unexpected data after the top-level value");
    return v;
  }

 private:
  Status Error(const std::string& what) const {
    return CorruptData("json: " + what + " at byte " + std::to_string(pos_));
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status Value(int depth, JsonValue* out) {
    SkipSpace();
    if (pos_ >= s_.size()) return Error("unexpected end of input");
    if (++values_ > limits_.max_values)
      return Error("more than " + std::to_string(limits_.max_values) + " values");
    const char c = s_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return Error("nesting deeper than " + std::to_string(max_depth_));
      return c == '{' ? ObjectValue(depth + 1, out) : ArrayValue(depth + 1, out);
    }
    if (c == '"') {
      std::string str;
      FLOE_RETURN_IF_ERROR(StringValue(&str));
      *out = JsonValue::String(std::move(str));
      return Status::Ok();
    }
    if (c == '-' || (c >= '0' && c <= '9')) return NumberValue(out);
    if (Literal("true"))
      *out = JsonValue::Bool(true);
    else if (Literal("false"))
      *out = JsonValue::Bool(false);
    else if (Literal("null"))
      *out = JsonValue::Null();
    else
      return Error(std::string("unexpected character '") + Printable(c) + "'");
    return Status::Ok();
  }

  static std::string Printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) return std::string(1, c);
    static const char kHex[] = "0123456789abcdef";
    return std::string("\\x") + kHex[u >> 4] + kHex[u & 15];
  }

  Status ObjectValue(int depth, JsonValue* out) {
    ++pos_;  // '{'
    std::vector<JsonValue::Member> members;
    std::unordered_set<std::string> keys;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      *out = JsonValue::Object(std::move(members));
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("expected a string key");
      std::string key;
      FLOE_RETURN_IF_ERROR(StringValue(&key));
      if (!keys.insert(key).second) return Error("duplicate key '" + key + "'");
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      JsonValue v;
      FLOE_RETURN_IF_ERROR(Value(depth, &v));
      members.emplace_back(std::move(key), std::move(v));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Error("expected ',' or '}'");
    }
    *out = JsonValue::Object(std::move(members));
    return Status::Ok();
  }

  Status ArrayValue(int depth, JsonValue* out) {
    ++pos_;  // '['
    std::vector<JsonValue> items;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      *out = JsonValue::Array(std::move(items));
      return Status::Ok();
    }
    while (true) {
      JsonValue v;
      FLOE_RETURN_IF_ERROR(Value(depth, &v));
      items.push_back(std::move(v));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        break;
      }
      return Error("expected ',' or ']'");
    }
    *out = JsonValue::Array(std::move(items));
    return Status::Ok();
  }

  Status Hex4(uint32_t* out) {
    if (s_.size() - pos_ < 4) return Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_ + i];
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = uint32_t(c - 'A' + 10);
      else
        return Error("bad hex digit in \\u escape");
      v = v * 16 + d;
    }
    pos_ += 4;
    *out = v;
    return Status::Ok();
  }

  // At '"'; leaves pos_ after the closing quote.
  Status StringValue(std::string* out) {
    ++pos_;
    while (true) {
      if (pos_ >= s_.size()) return Error("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) return Error("raw control character in string");
      if (c >= 0x80) {
        const size_t n = Utf8CharLength(s_.substr(pos_));
        if (n == 0) return Error("invalid UTF-8 in string");
        out->append(s_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        out->push_back(char(c));
        ++pos_;
        continue;
      }
      if (++pos_ >= s_.size()) return Error("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          FLOE_RETURN_IF_ERROR(Hex4(&cp));
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Error("unpaired low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") return Error("high surrogate not followed by \\u");
            pos_ += 2;
            uint32_t lo = 0;
            FLOE_RETURN_IF_ERROR(Hex4(&lo));
            if (lo < 0xDC00 || lo > 0xDFFF)
              return Error("high surrogate not followed by a low one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(char32_t(cp), out);
          break;
        }
        default:
          return Error(std::string("unknown escape '\\") + Printable(e) + "'");
      }
    }
  }

  static bool Digit(char c) { return c >= '0' && c <= '9'; }

  Status NumberValue(JsonValue* out) {
    const size_t start = pos_;
    bool integral_syntax = true;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !Digit(s_[pos_])) return Error("expected a digit");
    if (s_[pos_] == '0') {
      ++pos_;
      if (pos_ < s_.size() && Digit(s_[pos_])) return Error("leading zero in number");
    } else {
      while (pos_ < s_.size() && Digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral_syntax = false;
      ++pos_;
      if (pos_ >= s_.size() || !Digit(s_[pos_])) return Error("expected a digit after '.'");
      while (pos_ < s_.size() && Digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral_syntax = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !Digit(s_[pos_])) return Error("expected a digit in the exponent");
      while (pos_ < s_.size() && Digit(s_[pos_])) ++pos_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    double d = 0;
    const auto fr = std::from_chars(first, last, d);
    if (fr.ec != std::errc() || fr.ptr != last || !std::isfinite(d)) {
      pos_ = start;
      return Error("number out of range");
    }
    int64_t i = 0;
    bool has_int = false;
    if (integral_syntax) {
      const auto ir = std::from_chars(first, last, i);
      has_int = ir.ec == std::errc() && ir.ptr == last;
    } else if (d == std::trunc(d) && std::fabs(d) <= 9007199254740992.0) {  // 2^53: exact
      i = static_cast<int64_t>(d);
      has_int = true;
    }
    *out = JsonValue::Number(d, has_int, i);
    return Status::Ok();
  }

  std::string_view s_;
  const JsonLimits limits_;
  const int max_depth_;
  size_t pos_ = 0;
  size_t values_ = 0;
};

}  // namespace

Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits) {
  return Parser(text, limits).Document();
}

}  // namespace floe
