// floe inspect: a GGUF file's metadata and tensors, as text on stdout.
#include <cstdio>
#include <memory>

#include "checks.h"
#include "commands.h"
#include "runtime/engine/architectures.h"
#include "runtime/formats/gguf/gguf_inspect.h"
#include "runtime/formats/gguf/gguf_reader.h"

namespace floe::cli {

namespace {

int Run(const std::string& path) {
  auto f = GgufFile::Open(path);
  if (!f.ok()) {
    std::fprintf(stderr, "floe inspect: %s\n", f.status().ToString().c_str());
    return 1;
  }
  std::fputs(FormatGgufSummary(f.value()).c_str(), stdout);
  auto arch = f->GetString("general.architecture");
  std::printf("%s\n", arch.ok() ? DescribeArchitecture(*arch).c_str()
                                : "no general.architecture: floe cannot load this file");
  return 0;
}

}  // namespace

Verb AddInspect(CLI::App& floe) {
  auto path = std::make_shared<std::string>();
  CLI::App* app = floe.add_subcommand("inspect", "print a GGUF file's metadata and tensors");
  app->add_option("FILE", *path, "the GGUF file")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE");
  return {app, [path] { return Run(*path); }};
}

}  // namespace floe::cli
