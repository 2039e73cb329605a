// floe quantize: a GGUF's float matrices to a quantized type or llama.cpp's K-quant mixtures.
#include <memory>

#include "checks.h"
#include "commands.h"
#include "load_flags.h"
#include "progress_line.h"
#include "report.h"
#include "session_flags.h"
#include "runtime/tools/quantize.h"

namespace floe::cli {

namespace {

struct QuantizeFlags {
  std::string input, output;
  QuantizeScheme scheme = ParseQuantizeScheme("q8_0").value();
  int threads = 0;
  ProgressMode progress = ProgressMode::kAuto;
};

int Run(const QuantizeFlags& f) {
  ProgressLine line(f.progress);
  QuantizeOptions options;
  options.threads = f.threads;
  if (line.enabled()) {
    options.progress = [&line](size_t i, size_t count, const std::string&, uint32_t) {
      if (i == 0) line.Start("quantize", double(count), "tensors");
      line.Update(double(i));
    };
  }
  const Status st = QuantizeGguf(f.input, f.output, f.scheme, options);
  line.Finish();
  return ReportWrite("quantize", st, f.output);
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
  AddParsed<QuantizeScheme>(
      app, "--type", &f->scheme, [](const std::string& v) { return ParseQuantizeScheme(v); },
      "q8_0|q4_0|q4_1|q5_0|q5_1|q4_K|q5_K|q6_K|q4_K_M|q5_K_M|f16|bf16", f->scheme.name,
      "quantized type (q4_K_M, q5_K_M: llama-quantize's mixtures)");
  AddThreadsFlag(app, &f->threads);
  AddProgressFlags(app, &f->progress);
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
