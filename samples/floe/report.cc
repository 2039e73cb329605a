#include "report.h"

#include <cstdio>

namespace floe::cli {

int ReportWrite(const char* verb, const Status& st, const std::string& path) {
  if (!st.ok()) {
    std::fprintf(stderr, "floe %s: %s\n", verb, st.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s\n", path.c_str());
  return 0;
}

}  // namespace floe::cli
