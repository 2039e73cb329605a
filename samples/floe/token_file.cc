#include "token_file.h"

#include <cstdint>
#include <fstream>
#include <sstream>

namespace floe::cli {

bool ReadTokenFile(const std::string& path, std::vector<int32_t>* ids, std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = "cannot open token file '" + path + "'";
    return false;
  }
  std::string line;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream ss(line);
    long long v;
    std::string rest;
    if (!(ss >> v)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      *err = path + ":" + std::to_string(lineno) + ": not a token id: '" + line + "'";
      return false;
    }
    if (ss >> rest || v < 0 || v > INT32_MAX) {
      *err = path + ":" + std::to_string(lineno) + ": expected one non-negative id per line";
      return false;
    }
    ids->push_back(int32_t(v));
  }
  return true;
}

}  // namespace floe::cli
