// Minimal command-line parsing for the floe CLI: "--name value" / "-n value" options and flags.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace floe::cli {

class Args {
 public:
  // `flags` are options that take no value (e.g. "--json").
  Args(int argc, char** argv, int first, const std::vector<std::string>& flags);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool Has(const std::string& a, const std::string& b = "") const;
  std::string Get(const std::string& a, const std::string& b, const std::string& fallback) const;
  // Numeric getters record an error (see ok()) when the value does not parse.
  long GetInt(const std::string& a, const std::string& b, long fallback);
  double GetFloat(const std::string& a, const std::string& b, double fallback);
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::optional<std::string> Find(const std::string& a, const std::string& b) const;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  std::string error_;
};

}  // namespace floe::cli
