// floe make-model (random-weight benchmark models) and floe quantize (GGUF -> q8_0 / q4_0).
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "runtime/make_model.h"

namespace floe::cli {

int RunMakeModel(int argc, char** argv) {
  Args a(argc, argv, 2, {});
  MakeModelOptions o;
  o.preset = a.Get("--preset", "", "tiny");
  o.seed = uint64_t(a.GetInt("--seed", "", 1));
  o.output_path = a.Get("-o", "--output", "");
  o.arch = a.Get("--arch", "", "llama");
  const long long context = a.GetInt("--context", "", 0);
  auto type = ParseDType(a.Get("--type", "", "f32"));
  if (!a.ok() || o.output_path.empty() || !type.ok() || context < 0) {
    if (!type.ok()) std::fprintf(stderr, "floe make-model: %s\n", type.status().ToString().c_str());
    std::fprintf(stderr, "usage: floe make-model --arch llama|qwen2 --preset tiny|110m|1b --type f32|f16|q8_0|q4_0 "
                         "[--seed S] [--context N] -o OUT.gguf\n");
    return 2;
  }
  o.type = *type;
  o.context_length = size_t(context);
  if (Status st = MakeRandomLlamaGguf(o); !st.ok()) {
    std::fprintf(stderr, "floe make-model: %s\n", st.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s\n", o.output_path.c_str());
  return 0;
}

int RunQuantize(int argc, char** argv) {
  Args a(argc, argv, 2, {});
  auto type = ParseDType(a.Get("--type", "", "q8_0"));
  if (!a.ok() || a.positional().size() != 2 || !type.ok()) {
    if (!type.ok()) std::fprintf(stderr, "floe quantize: %s\n", type.status().ToString().c_str());
    std::fprintf(stderr, "usage: floe quantize IN.gguf OUT.gguf --type q8_0|q4_0\n");
    return 2;
  }
  if (Status st = QuantizeGguf(a.positional()[0], a.positional()[1], *type); !st.ok()) {
    std::fprintf(stderr, "floe quantize: %s\n", st.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s\n", a.positional()[1].c_str());
  return 0;
}

}  // namespace floe::cli
