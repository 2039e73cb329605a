#include "session_flags.h"

#include <cctype>
#include <cstdint>
#include <string>

#include "checks.h"

namespace floe::cli {

CLI::Option* AddThreadsFlag(CLI::App* app, int* threads) {
  return app->add_option("-t,--threads", *threads, "worker threads, 0 = physical cores")
      ->check(IntAtLeast(0));
}

CLI::Option* AddContextFlag(CLI::App* app, size_t* ctx, const std::string& help) {
  return app->add_option("-c,--ctx", *ctx, help)->check(IntAtLeast(0));
}

CLI::Option* AddKvFlag(CLI::App* app, DType* kv) {
  return AddChoice<DType>(app, "--kv", kv, {{"f32", DType::kF32}, {"f16", DType::kF16}},
                          "KV cache element type");
}

CLI::Option* AddOutputFlag(CLI::App* app, std::string* path, const std::string& help) {
  return app->add_option("-o,--output", *path, help)->required()->type_name("FILE");
}

CLI::Option* AddMemoryBudgetFlag(CLI::App* app, size_t* bytes) {
  return app
      ->add_option_function<std::string>(
          "--memory-budget",
          [bytes](const std::string& text) {
            // digits, then an optional K, M or G (binary: 1024, 1024^2, 1024^3; B or iB after it
            // accepted)
            size_t i = 0;
            uint64_t v = 0;
            while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
              if (v > (UINT64_MAX - 9) / 10)
                throw CLI::ValidationError("--memory-budget", "too large");
              v = v * 10 + uint64_t(text[i++] - '0');
            }
            if (i == 0)
              throw CLI::ValidationError("--memory-budget",
                                         "expected BYTES[K|M|G], got '" + text + "'");
            std::string unit = text.substr(i);
            for (char& ch : unit) ch = char(std::toupper(static_cast<unsigned char>(ch)));
            int shift = 0;
            if (unit == "" || unit == "B")
              shift = 0;
            else if (unit == "K" || unit == "KB" || unit == "KIB")
              shift = 10;
            else if (unit == "M" || unit == "MB" || unit == "MIB")
              shift = 20;
            else if (unit == "G" || unit == "GB" || unit == "GIB")
              shift = 30;
            else
              throw CLI::ValidationError("--memory-budget",
                                         "unknown unit '" + text.substr(i) + "' (K, M or G)");
            if (v > (uint64_t(SIZE_MAX) >> shift))
              throw CLI::ValidationError("--memory-budget", "too large");
            *bytes = size_t(v << shift);
          },
          "most bytes the session's cache, index and state may hold (suffix K, M, G); an eval "
          "past it fails cleanly. 0 = no limit")
      ->type_name("BYTES");
}

}  // namespace floe::cli
