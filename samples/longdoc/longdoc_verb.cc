// The `longdoc` verb of the floe CLI: its subcommands score, compare and plot.
#include <memory>
#include <vector>

#include "commands.h"
#include "longdoc.h"

namespace floe::cli {

Verb AddLongdoc(CLI::App& floe) {
  CLI::App* app = floe.add_subcommand(
      "longdoc", "long documents and corpora: perplexity, surprising spans, comparisons");
  app->require_subcommand(1);
  auto verbs = std::make_shared<std::vector<Verb>>();
  verbs->push_back(longdoc::AddScore(*app));
  verbs->push_back(longdoc::AddCompare(*app));
  verbs->push_back(longdoc::AddPlot(*app));
  return {app, [verbs]() -> int {
            for (const Verb& v : *verbs)
              if (v.app->parsed()) return v.run();
            return 2;
          }};
}

}  // namespace floe::cli
