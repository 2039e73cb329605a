#include "checks.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>

namespace floe::cli {

namespace {

// Whole-string integer parse (base 10); false on junk, an empty string or overflow.
bool ParseInt(const std::string& s, long long* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *v = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

bool ParseReal(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return *end == '\0' && std::isfinite(*v);
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

CLI::Validator IntAtLeast(long long min) {
  const std::string want = "an integer >= " + std::to_string(min);
  return CLI::Validator(
      [min, want](std::string& s) -> std::string {
        long long v;
        if (!ParseInt(s, &v) || v < min) return "must be " + want + ", not '" + s + "'";
        return {};
      },
      ">= " + std::to_string(min));
}

CLI::Validator RealRange(double min, double max, bool max_open) {
  const std::string range = "[" + Num(min) + ", " + Num(max) + (max_open ? ")" : "]");
  return CLI::Validator(
      [min, max, max_open, range](std::string& s) -> std::string {
        double v;
        if (!ParseReal(s, &v) || v < min || v > max || (max_open && v == max))
          return "must be a number in " + range + ", not '" + s + "'";
        return {};
      },
      "in " + range);
}

CLI::Validator Real() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        double v;
        if (!ParseReal(s, &v)) return "must be a number, not '" + s + "'";
        return {};
      },
      "");
}

CLI::Validator ExistingInputFile() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) return "no such file '" + path + "'";
        if (S_ISDIR(st.st_mode)) return "'" + path + "' is a directory, not a file";
        return {};
      },
      "");
}

std::string OrList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace floe::cli
