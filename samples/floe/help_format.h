// floe's --help layout on top of CLI11's: one line per flag,
//   -n,--n-predict INT          tokens to generate at most (>= 0; default 256)
// the value's type after the flag names, and the accepted range and the default after the
// description (CLI11 packs both beside the type: "INT:>=0=256"). Verbs created after
// UseHelpFormat inherit it.
#pragma once

#include <CLI/CLI.hpp>

namespace floe::cli {

void UseHelpFormat(CLI::App& app);

}  // namespace floe::cli
