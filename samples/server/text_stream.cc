#include "text_stream.h"

#include <algorithm>

namespace floe::serve {

size_t Utf8CompletePrefix(const std::string& s) {
  const size_t n = s.size();
  // Look back at most 3 bytes for the lead byte of a sequence that is not complete yet.
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 1;
    if ((c & 0xE0) == 0xC0)
      need = 2;
    else if ((c & 0xF0) == 0xE0)
      need = 3;
    else if ((c & 0xF8) == 0xF0)
      need = 4;
    return need > back ? n - back : n;
  }
  return n;
}

TextStream::TextStream(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

bool TextStream::Append(const std::string& bytes) {
  if (stopped_) return true;
  const size_t old = text_.size();
  text_ += bytes;
  size_t cut = std::string::npos;
  for (const std::string& s : stops_) {
    const size_t from = old >= s.size() ? old - s.size() + 1 : 0;
    const size_t pos = text_.find(s, std::min(from, sent_));
    if (pos != std::string::npos) cut = std::min(cut, pos);
  }
  if (cut == std::string::npos) return false;
  text_.resize(std::max(cut, sent_));
  stopped_ = true;
  return true;
}

std::string TextStream::TakeReady() {
  size_t end = stopped_ ? text_.size() : Utf8CompletePrefix(text_);
  if (!stopped_) {
    // Hold back a tail that could still grow into a stop string.
    size_t hold = 0;
    for (const std::string& s : stops_)
      for (size_t k = std::min(s.size() - 1, text_.size()); k > hold; --k)
        if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
          hold = k;
          break;
        }
    end = std::min(end, text_.size() - hold);
  }
  if (end <= sent_) return {};
  std::string out = text_.substr(sent_, end - sent_);
  sent_ = end;
  return out;
}

std::string TextStream::TakeRest() {
  if (sent_ >= text_.size()) return {};
  std::string out = text_.substr(sent_);
  sent_ = text_.size();
  return out;
}

}  // namespace floe::serve
