#include "load_flags.h"

namespace floe::cli {

const char* kLoadFlagsUsage =
    "  --huge-pages off|advise|refault   mapped weights in 2 MiB pages: refault (default) reads a\n"
    "                                    file cached in small pages in again; advise never does\n";

bool ParseLoadFlags(Args& a, LoadOptions* o, std::string* err) {
  const std::string v = a.Get("--huge-pages", "", "");
  if (v.empty()) return true;
  if (v == "off") {
    o->huge_pages = HugePages::kOff;
  } else if (v == "advise") {
    o->huge_pages = HugePages::kAdvise;
  } else if (v == "refault") {
    o->huge_pages = HugePages::kRefault;
  } else {
    *err = "--huge-pages must be off, advise or refault, not '" + v + "'";
    return false;
  }
  return true;
}

}  // namespace floe::cli
