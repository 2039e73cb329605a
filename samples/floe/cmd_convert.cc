// floe convert: a llama2.c checkpoint + tokenizer, or any checkpoint floe loads whose architecture
// writes GGUF (runtime/tools/convert_model.h), to GGUF. Thin: parse the flags, call the runtime's
// converter, report.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "checks.h"
#include "commands.h"
#include "load_flags.h"
#include "report.h"
#include "session_flags.h"
#include "runtime/tools/convert_llama2c.h"
#include "runtime/tools/convert_model.h"

namespace floe::cli {

namespace {

struct ConvertFlags {
  std::string input;
  std::string tokenizer;  // empty: `input` is a single-file checkpoint
  std::string output;
  std::string name;
  ProgressMode progress = ProgressMode::kAuto;
};

int Run(const ConvertFlags& f) {
  if (!f.tokenizer.empty()) {  // llama2.c
    ConvertLlama2cOptions o;
    o.checkpoint_path = f.input;
    o.tokenizer_path = f.tokenizer;
    o.output_path = f.output;
    o.model_name = f.name;
    return ReportWrite("convert", ConvertLlama2cToGguf(o), f.output);
  }
  ProgressLine progress(f.progress);
  auto model = LoadModel(f.input, LoadOptions{}, &progress);
  if (!model.ok()) {
    std::fprintf(stderr, "floe convert: %s\n", model.status().ToString().c_str());
    return 1;
  }
  const std::string name = f.name.empty() ? std::filesystem::path(f.input).stem().string() : f.name;
  return ReportWrite("convert", ConvertModelToGguf(**model, name, f.output), f.output);
}

}  // namespace

Verb AddConvert(CLI::App& floe) {
  auto f = std::make_shared<ConvertFlags>();
  CLI::App* app = floe.add_subcommand("convert", "convert a checkpoint to GGUF");
  app->footer(
      "  floe convert CHECKPOINT.bin TOKENIZER.bin -o OUT.gguf   a llama2.c checkpoint\n"
      "  floe convert MODEL -o OUT.gguf                          a checkpoint floe loads (.pth, "
      "safetensors,\n"
      "                                                          rwkv.cpp; config.json beside it "
      "when needed)");
  app->add_option("MODEL", f->input, "the checkpoint")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE");
  app->add_option("TOKENIZER", f->tokenizer, "llama2.c tokenizer.bin (llama2.c checkpoints only)")
      ->check(ExistingInputFile())
      ->type_name("FILE");
  AddOutputFlag(app, &f->output, "GGUF file to write");
  app->add_option("--name", f->name, "general.name in the GGUF (default: from the file name)");
  AddProgressFlags(app, &f->progress);
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
