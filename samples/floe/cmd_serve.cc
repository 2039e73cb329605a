// floe serve: runs floe-serve (samples/server), the OpenAI-compatible HTTP server, with the same
// arguments. floe-serve is looked for beside this binary, then on PATH. The server is a program
// of its own so that the CLI links no HTTP code.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"

namespace floe::cli {

namespace {

int Run(const std::vector<std::string>& args) {
  std::vector<std::string> argv_s = {"floe-serve"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::string beside = (self.parent_path() / "floe-serve").string();
    if (access(beside.c_str(), X_OK) == 0) execv(beside.c_str(), argv.data());
  }
  execvp("floe-serve", argv.data());
  std::fprintf(stderr, "floe serve: cannot run floe-serve (looked beside floe and on PATH): %s\n",
               std::strerror(errno));
  return 1;
}

}  // namespace

Verb AddServe(CLI::App& floe) {
  auto args = std::make_shared<std::vector<std::string>>();
  CLI::App* app = floe.add_subcommand(
      "serve",
      "OpenAI-compatible HTTP server (runs floe-serve; 'floe serve --help' for its flags)");
  app->prefix_command();
  app->set_help_flag();  // --help goes to floe-serve
  return {app, [app, args] {
            *args = app->remaining();
            return Run(*args);
          }};
}

}  // namespace floe::cli
