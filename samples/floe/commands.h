// The floe CLI's verbs. Each Add* function adds one verb (a CLI11 subcommand with its flags) to
// the top-level app and returns it with the function that runs it; main() parses the command
// line, then calls the run function of the verb that was given. The flags are bound to state the
// run function owns. run() returns the process exit code: 0 success, 1 a failure while working
// (unreadable model, failed evaluation), 2 bad usage (verb-specific checks that the parser
// cannot make; the parser's own errors exit 2 too). floe compare also exits 1 on a missed
// threshold.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace floe::cli {

struct Verb {
  CLI::App* app;
  std::function<int()> run;
};

Verb AddGenerate(CLI::App& floe);
Verb AddLogits(CLI::App& floe);
Verb AddEvalAttention(CLI::App& floe);
Verb AddBench(CLI::App& floe);
Verb AddConvert(CLI::App& floe);
Verb AddInspect(CLI::App& floe);
Verb AddMakeModel(CLI::App& floe);
Verb AddQuantize(CLI::App& floe);
Verb AddCompare(CLI::App& floe);
Verb AddLongdoc(CLI::App& floe);  // samples/longdoc
Verb AddServe(CLI::App& floe);
Verb AddTemplate(CLI::App& floe);
Verb AddChat(CLI::App& floe);
Verb AddParity(CLI::App& floe);  // floe parity ops
Verb AddAnalyzeHeads(CLI::App& floe);
Verb AddPlanHeads(CLI::App& floe);

}  // namespace floe::cli
