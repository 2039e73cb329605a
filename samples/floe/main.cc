// floe: command-line front end over the floe runtime. One verb per subcommand (commands.h);
// `floe --help` lists them, `floe VERB --help` lists a verb's flags with their defaults.
// Exit status: the verb's (0 success, 1 failure while working); 2 for any usage error (unknown
// verb or flag, missing or bad value), after a message naming the flag and the value.
#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "help_format.h"

namespace {

using floe::cli::Verb;

// Prints a parse error (or the help asked for) and returns the exit status.
int ReportParseError(CLI::App& floe, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return floe.exit(e);  // --help: the verb's help on stdout
  // The innermost command given ("longdoc score" for a verb with subcommands).
  std::string verb;
  CLI::App* leaf = nullptr;
  for (CLI::App* app = &floe; !app->get_subcommands().empty();) {
    app = leaf = app->get_subcommands().front();
    verb += " " + app->get_name();
  }
  std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) && leaf) {
    // CLI11 lists every leftover argument, last first; name the first one instead.
    const std::vector<std::string> rest = leaf->remaining();
    if (!rest.empty())
      what =
          (rest[0].size() > 1 && rest[0][0] == '-' ? "unknown flag '" : "unexpected argument '") +
          rest[0] + "'";
  }
  std::fprintf(stderr, "floe%s: %s\nRun 'floe%s --help' for the flags.\n", verb.c_str(),
               what.c_str(), verb.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App floe("floe: CPU inference for language models", "floe");
  floe.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  floe.require_subcommand(1);
  floe::cli::UseHelpFormat(floe);
  const std::vector<Verb> verbs = {
      floe::cli::AddGenerate(floe),      floe::cli::AddLogits(floe),
      floe::cli::AddEvalAttention(floe), floe::cli::AddBench(floe),
      floe::cli::AddConvert(floe),       floe::cli::AddInspect(floe),
      floe::cli::AddMakeModel(floe),     floe::cli::AddQuantize(floe),
      floe::cli::AddCompare(floe),       floe::cli::AddLongdoc(floe),
      floe::cli::AddServe(floe),         floe::cli::AddTemplate(floe),
      floe::cli::AddChat(floe),          floe::cli::AddParity(floe),
      floe::cli::AddAnalyzeHeads(floe),  floe::cli::AddPlanHeads(floe),
  };
  floe.footer("Run 'floe VERB --help' for a verb's flags.");  // after the verbs: they copy it
  if (argc < 2) {
    std::fputs(floe.help().c_str(), stderr);
    return 2;
  }
  if (argv[1][0] != '-') {
    bool known = false;
    for (const Verb& v : verbs) known = known || v.app->get_name() == argv[1];
    if (!known) {
      std::fprintf(stderr, "floe: unknown command '%s'\nRun 'floe --help' for the commands.\n",
                   argv[1]);
      return 2;
    }
  }
  try {
    floe.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(floe, e);
  }
  // The library reports errors as values; an allocation that still fails inside a verb (the
  // C++ API may throw std::bad_alloc) ends the command with a message, never an abort.
  for (const Verb& v : verbs) {
    if (!v.app->parsed()) continue;
    try {
      return v.run();
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "floe %s: out of memory\n", v.app->get_name().c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "floe %s: %s\n", v.app->get_name().c_str(), e.what());
    }
    return 1;
  }
  return 2;
}
