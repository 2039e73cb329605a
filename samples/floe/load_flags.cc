#include "load_flags.h"

#include <filesystem>
#include <system_error>

#include "checks.h"

namespace floe::cli {

void AddModelFlags(CLI::App* app, ModelFlags* f) {
  const char* group = "Model";
  app->add_option("-m,--model", f->model, "model: GGUF, llama2.c, rwkv.cpp, .pth or safetensors")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE")
      ->group(group);
  app->add_option("-z,--tokenizer", f->load.tokenizer_path,
                  "llama2.c tokenizer.bin, instead of the model's vocabulary")
      ->check(ExistingInputFile())
      ->type_name("FILE")
      ->group(group);
  AddChoice<HugePages>(
      app, "--huge-pages", &f->load.huge_pages,
      {{"off", HugePages::kOff}, {"advise", HugePages::kAdvise}, {"refault", HugePages::kRefault}},
      "2 MiB pages for the weights; refault re-reads a file cached in small pages")
      ->group(group);
  app->add_flag_callback(
         "--no-repack", [f] { f->load.repack_weights = false; },
         "keep q4_0/q8_0 matrices in the file's layout (default: 16-row panels on AVX-512 VNNI)")
      ->group(group);
  AddProgressFlags(app, &f->progress);
}

void AddProgressFlags(CLI::App* app, ProgressMode* mode) {
  CLI::Option* on = app->add_flag_callback(
      "--progress", [mode] { *mode = ProgressMode::kOn; },
      "progress line (rate, ETA) on stderr for loads and prefills "
      "over 1 s; default: when stderr is a terminal");
  CLI::Option* off = app->add_flag_callback(
      "--no-progress", [mode] { *mode = ProgressMode::kOff; }, "never show the progress line");
  on->excludes(off);
  on->group("Model");
  off->group("Model");
}

Result<std::unique_ptr<Model>> LoadModel(const std::string& path, LoadOptions options,
                                         ProgressLine* progress) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  progress->Start("loading " + std::filesystem::path(path).filename().string(),
                  ec ? 0.0 : double(bytes) / 1e6, "MB");
  options.progress = progress->LoadCallback();
  auto model = Model::Load(path, options);
  progress->Finish();
  return model;
}

}  // namespace floe::cli
