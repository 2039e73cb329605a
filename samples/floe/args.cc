#include "args.h"

#include <algorithm>
#include <cctype>

namespace floe::cli {

Args::Args(int argc, char** argv, int first, const std::vector<std::string>& flags) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.'))) {
      if (std::find(flags.begin(), flags.end(), a) != flags.end()) {
        values_.insert_or_assign(a, std::string(1, '1'));
      } else if (i + 1 < argc) {
        values_[a] = argv[++i];
      } else {
        error_ = "option " + a + " needs a value";
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::optional<std::string> Args::Find(const std::string& a, const std::string& b) const {
  if (auto it = values_.find(a); it != values_.end()) return it->second;
  if (!b.empty())
    if (auto it = values_.find(b); it != values_.end()) return it->second;
  return std::nullopt;
}

bool Args::Has(const std::string& a, const std::string& b) const { return Find(a, b).has_value(); }

std::string Args::Get(const std::string& a, const std::string& b, const std::string& fallback) const {
  return Find(a, b).value_or(fallback);
}

long Args::GetInt(const std::string& a, const std::string& b, long fallback) {
  auto v = Find(a, b);
  if (!v) return fallback;
  char* end = nullptr;
  long r = std::strtol(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0') error_ = "option " + a + ": '" + *v + "' is not an integer";
  return r;
}

double Args::GetFloat(const std::string& a, const std::string& b, double fallback) {
  auto v = Find(a, b);
  if (!v) return fallback;
  char* end = nullptr;
  double r = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || *end != '\0') error_ = "option " + a + ": '" + *v + "' is not a number";
  return r;
}

}  // namespace floe::cli
