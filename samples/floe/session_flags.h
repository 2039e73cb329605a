// Flags that several verbs share besides the model and attention groups; each is spelled and
// checked the same wherever it appears:
//   --threads N         worker threads, >= 0 (0 = physical cores)    generate, logits,
//   eval-attention
//                       (floe bench takes a list: -t,--threads 1,2)
//   -c,--ctx N          context length in tokens                      generate, eval-attention
//   --kv f32|f16        KV cache element type                         generate, bench
//   -o,--output FILE    the file written (required)                   logits, convert, make-model
//   --memory-budget B   session memory budget, bytes with K/M/G       generate, logits, chat
// Each returns the option so that a verb can add to it (required, a tighter range).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "platform/base/dtype.h"

namespace floe::cli {

CLI::Option* AddThreadsFlag(CLI::App* app, int* threads);
CLI::Option* AddContextFlag(CLI::App* app, size_t* ctx, const std::string& help);
CLI::Option* AddKvFlag(CLI::App* app, DType* kv);
CLI::Option* AddOutputFlag(CLI::App* app, std::string* path, const std::string& help);
CLI::Option* AddMemoryBudgetFlag(CLI::App* app, size_t* bytes);

}  // namespace floe::cli
