// floe longdoc: long documents and corpora through one session each (docs/longdoc.md). A verb of
// the floe CLI (its flags, help and exit codes), its code here: `floe longdoc score`,
// `floe longdoc compare`, `floe longdoc plot`.
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace floe::longdoc {

cli::Verb AddScore(CLI::App& longdoc);
cli::Verb AddCompare(CLI::App& longdoc);
cli::Verb AddPlot(CLI::App& longdoc);

}  // namespace floe::longdoc
