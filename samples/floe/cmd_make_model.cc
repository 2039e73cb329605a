// floe make-model: a GGUF of random weights in a named shape (for speed and memory work).
// Thin: parse the flags, call the runtime's writer, report.
#include <memory>

#include "checks.h"
#include "commands.h"
#include "report.h"
#include "session_flags.h"
#include "runtime/engine/architectures.h"
#include "runtime/tools/make_model.h"

namespace floe::cli {

namespace {

int Run(const MakeModelOptions& o) {
  return ReportWrite("make-model", MakeModelGguf(o), o.output_path);
}

}  // namespace

Verb AddMakeModel(CLI::App& floe) {
  auto o = std::make_shared<MakeModelOptions>();
  CLI::App* app =
      floe.add_subcommand("make-model", "write a GGUF of random weights in a named shape");
  // --arch is one of the registry's names; --preset (which depends on it) is checked by the
  // runtime.
  std::vector<std::pair<std::string, std::string>> archs;
  for (const Architecture* a : Architectures()) archs.emplace_back(a->name, a->name);
  AddChoice<std::string>(app, "--arch", &o->arch, archs, "architecture");
  app->add_option("--preset", o->preset, "shape: one of the architecture's presets, listed below");
  std::string presets = "Presets:";
  for (const Architecture* a : Architectures()) {
    presets += "\n  ";
    presets += a->name;
    for (size_t i = 0; i < a->presets.size(); ++i) {
      presets += i ? ", " : ": ";
      presets += a->presets[i].name;
    }
  }
  app->footer(presets);
  AddParsed<DType>(
      app, "--type", &o->type, [](const std::string& v) { return ParseDType(v); },
      "f32|f16|q8_0|q4_0", DTypeName(o->type), "weight type of the matrices");
  app->add_option("-s,--seed", o->seed, "random seed")->check(IntAtLeast(0));
  app->add_option("--context", o->context_length, "context length, 0 = the preset's")
      ->check(IntAtLeast(0));
  app->add_option("--rope-scaling", o->rope.type,
                  "RoPE scaling written to the file (llama, qwen2): none|linear|yarn|llama3 "
                  "(llama3: the rope_freqs tensor, as convert_hf_to_gguf.py writes it)");
  app->add_option("--rope-factor", o->rope.factor, "RoPE scaling factor (> 0)");
  app->add_option("--rope-orig-ctx", o->rope.original_context,
                  "original context: yarn's rope.scaling.original_context_length (0: no key), "
                  "llama3's original_max_position_embeddings (0: 8192)")
      ->check(IntAtLeast(0));
  app->add_option("--rope-attn-factor", o->rope.attn_factor,
                  "rope.scaling.attn_factor (0: no key)");
  app->add_option("--rope-low-freq-factor", o->rope.low_freq_factor, "llama3 low_freq_factor");
  app->add_option("--rope-high-freq-factor", o->rope.high_freq_factor, "llama3 high_freq_factor");
  AddOutputFlag(app, &o->output_path, "GGUF file to write");
  return {app, [o] { return Run(*o); }};
}

}  // namespace floe::cli
