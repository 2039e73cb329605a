#include "runtime/chat/jinja_lexer.h"

#include <cerrno>
#include <cstdlib>

#include "runtime/chat/utf8_text.h"

namespace floe::jinja {

namespace {

bool IsWs(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool IsIdStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Normalize(std::string_view src) {
  std::string s;
  s.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      s += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      s += src[i];
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();  // keep_trailing_newline=False
  return s;
}

Status Error(int line, const std::string& what) {
  return InvalidArgument("template line " + std::to_string(line) + ": " + what);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes a string literal body the way jinja2 does (Python "unicode-escape"); an unknown
// escape keeps its backslash.
std::string DecodeEscapes(std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 >= body.size()) {
      out += body[i];
      continue;
    }
    const char e = body[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case '\n':
        break;  // line continuation
      case 'x':
      case 'u':
      case 'U': {
        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        bool ok = i + n < body.size();
        for (size_t k = 1; ok && k <= n; ++k) {
          const int h = HexValue(body[i + k]);
          if (h < 0) ok = false;
          cp = cp * 16 + uint32_t(h < 0 ? 0 : h);
        }
        if (!ok || cp > 0x10FFFF) {
          out += '\\';
          out += e;
          break;
        }
        AppendUtf8(cp, &out);
        i += n;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = uint32_t(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++k)
            cp = cp * 8 + uint32_t(body[++i] - '0');
          AppendUtf8(cp, &out);
        } else {
          out += '\\';
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string s) : s_(std::move(s)) {}

  Result<std::vector<Token>> Run() {
    bool line_starting = true;
    while (pos_ < s_.size()) {
      size_t open = s_.find('{', pos_);
      while (open != std::string::npos && open + 1 < s_.size() && s_[open + 1] != '{' &&
             s_[open + 1] != '%' && s_[open + 1] != '#')
        open = s_.find('{', open + 1);
      if (open == std::string::npos || open + 1 >= s_.size()) {
        EmitText(s_.substr(pos_));
        pos_ = s_.size();
        break;
      }
      const char type = s_[open + 1];
      const char sign = open + 2 < s_.size() ? s_[open + 2] : '\0';
      std::string text = s_.substr(pos_, open - pos_);
      if (sign == '-') {
        size_t e = text.size();
        while (e > 0 && IsWs(text[e - 1])) --e;
        text.resize(e);
      } else if (sign != '+' && type != '{') {
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos > 0 || line_starting) {
          bool blank = true;
          for (size_t i = l_pos; i < text.size(); ++i) blank = blank && IsWs(text[i]);
          if (blank) text.resize(l_pos);
        }
      }
      EmitText(text);
      Advance(open);
      const int tag_line = line_;
      Advance(open + 2 + ((sign == '-' || sign == '+') ? 1 : 0));
      if (type == '#') {
        size_t close = s_.find("#}", pos_);
        if (close == std::string::npos)
          return Error(tag_line, "unclosed comment ('{#' without '#}')");
        const bool strip = close > pos_ && s_[close - 1] == '-';
        Advance(close + 2);
        line_starting = AfterClose(strip, /*block=*/true);
        continue;
      }
      const bool block = type == '%';
      Push(block ? Token::Kind::kBlockBegin : Token::Kind::kVarBegin, "", tag_line);
      auto closed = LexTag(block, tag_line);
      if (!closed.ok()) return closed.status();
      line_starting = *closed;
    }
    Push(Token::Kind::kEof, "", line_);
    return std::move(tokens_);
  }

 private:
  void Advance(size_t to) {
    for (size_t i = pos_; i < to && i < s_.size(); ++i) line_ += s_[i] == '\n';
    pos_ = to;
  }
  void EmitText(const std::string& text) {
    if (text.empty()) return;
    Push(Token::Kind::kText, text, line_);
  }
  void Push(Token::Kind k, std::string v, int line) {
    Token t;
    t.kind = k;
    t.value = std::move(v);
    t.line = line;
    tokens_.push_back(std::move(t));
  }
  // After a closing delimiter at pos_: applies `-` (all whitespace) or trim_blocks (one "\n"
  // after a block or comment). Returns whether the consumed text ended with a newline.
  bool AfterClose(bool strip, bool block) {
    const size_t start = pos_;
    size_t p = pos_;
    if (strip) {
      while (p < s_.size() && IsWs(s_[p])) ++p;
    } else if (block && p < s_.size() && s_[p] == '\n') {
      ++p;
    }
    Advance(p);
    return p > start && s_[p - 1] == '\n';
  }

  // Lexes the inside of {{ }} or {% %}; returns line_starting after the closer.
  Result<bool> LexTag(bool block, int tag_line) {
    int depth = 0;
    while (true) {
      while (pos_ < s_.size() && IsWs(s_[pos_])) Advance(pos_ + 1);
      if (pos_ >= s_.size())
        return Error(tag_line, block ? "unclosed block tag ('{%' without '%}')"
                                     : "unclosed expression ('{{' without '}}')");
      const std::string_view rest = std::string_view(s_).substr(pos_);
      if (depth == 0) {
        const char* close = block ? "%}" : "}}";
        for (const char* pre : {"-", "+", ""}) {
          const std::string c = std::string(pre) + close;
          if (rest.substr(0, c.size()) == c && (block || *pre != '+')) {
            Push(block ? Token::Kind::kBlockEnd : Token::Kind::kVarEnd, "", line_);
            Advance(pos_ + c.size());
            const bool strip = *pre == '-';
            const bool trim = block && *pre != '+';
            if (strip || trim) return AfterClose(strip, trim);
            return false;
          }
        }
      }
      const char c = s_[pos_];
      if (IsIdStart(c)) {
        size_t e = pos_ + 1;
        while (e < s_.size() && (IsIdStart(s_[e]) || IsDigit(s_[e]))) ++e;
        Push(Token::Kind::kName, s_.substr(pos_, e - pos_), line_);
        Advance(e);
      } else if (IsDigit(c)) {
        FLOE_RETURN_IF_ERROR(LexNumber());
      } else if (c == '\'' || c == '"') {
        size_t e = pos_ + 1;
        while (e < s_.size() && s_[e] != c) e += s_[e] == '\\' ? 2 : 1;
        if (e >= s_.size()) return Error(line_, "unclosed string literal");
        Push(Token::Kind::kString,
             DecodeEscapes(std::string_view(s_).substr(pos_ + 1, e - pos_ - 1)), line_);
        Advance(e + 1);
      } else {
        static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*",
                                     "/",  "%",  "~",  "<",  ">",  "(",  ")", "[", "]",
                                     "{",  "}",  ",",  ".",  ":",  "|",  "=", ";"};
        bool found = false;
        for (const char* op : kOps) {
          const std::string_view o(op);
          if (rest.substr(0, o.size()) != o) continue;
          if (o == "(" || o == "[" || o == "{") ++depth;
          if (o == ")" || o == "]" || o == "}") {
            if (depth == 0) return Error(line_, "unexpected '" + std::string(o) + "'");
            --depth;
          }
          Push(Token::Kind::kOp, std::string(o), line_);
          Advance(pos_ + o.size());
          found = true;
          break;
        }
        if (!found) return Error(line_, std::string("unexpected character '") + c + "'");
      }
    }
  }

  Status LexNumber() {
    size_t e = pos_;
    auto digits = [&] {
      while (e < s_.size() &&
             (IsDigit(s_[e]) || (s_[e] == '_' && e + 1 < s_.size() && IsDigit(s_[e + 1]))))
        ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < s_.size() && s_[e] == '.' && IsDigit(s_[e + 1])) {
      is_float = true;
      ++e;
      digits();
    }
    if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
      size_t k = e + 1;
      if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
      if (k < s_.size() && IsDigit(s_[k])) {
        is_float = true;
        e = k;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos_; i < e; ++i)
      if (s_[i] != '_') text += s_[i];
    Token t;
    t.line = line_;
    if (is_float) {
      t.kind = Token::Kind::kFloat;
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.kind = Token::Kind::kInt;
      errno = 0;
      t.int_value = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) return Error(line_, "integer literal too large");
    }
    tokens_.push_back(std::move(t));
    Advance(e);
    return Status::Ok();
  }

  std::string s_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view source) {
  return Lexer(Normalize(source)).Run();
}

}  // namespace floe::jinja
