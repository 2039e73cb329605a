#include "session_flags.h"

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

}  // namespace floe::cli
