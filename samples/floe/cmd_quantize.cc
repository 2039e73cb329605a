// floe quantize: a llama GGUF's float matrices to q8_0, q4_0, q4_1 or q5_1.
#include <memory>

#include "checks.h"
#include "commands.h"
#include "report.h"
#include "runtime/tools/make_model.h"

namespace floe::cli {

namespace {

struct QuantizeFlags {
  std::string input, output;
  DType type = DType::kQ8_0;
};

int Run(const QuantizeFlags& f) {
  return ReportWrite("quantize", QuantizeGguf(f.input, f.output, f.type), f.output);
}

}  // namespace

Verb AddQuantize(CLI::App& floe) {
  auto f = std::make_shared<QuantizeFlags>();
  CLI::App* app =
      floe.add_subcommand("quantize", "quantize a GGUF's float matrices (llama.cpp's rounding)");
  app->add_option("IN", f->input, "GGUF file to read")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE");
  app->add_option("OUT", f->output, "GGUF file to write")->required()->type_name("FILE");
  AddParsed<DType>(
      app, "--type", &f->type, [](const std::string& v) { return ParseDType(v); },
      "q8_0|q4_0|q4_1|q5_1", DTypeName(f->type), "quantized type");
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
