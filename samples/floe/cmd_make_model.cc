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
  AddOutputFlag(app, &o->output_path, "GGUF file to write");
  return {app, [o] { return Run(*o); }};
}

}  // namespace floe::cli
