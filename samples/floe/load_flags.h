// The model-loading flags, the same in every verb that loads a model (generate, logits,
// eval-attention, bench):
//   -m,--model FILE                    the model (required; must exist)
//   -z,--tokenizer FILE                llama2.c tokenizer.bin; overrides a file's own vocabulary
//   --huge-pages off|advise|refault    page backing of the mapped model file (see HugePages)
//   --progress / --no-progress         force the progress line on / off (default: when stderr
//                                      is a terminal; see progress_line.h)
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "progress_line.h"
#include "runtime/engine/model.h"

namespace floe::cli {

struct ModelFlags {
  std::string model;
  LoadOptions load;  // tokenizer_path and huge_pages come from the flags
  ProgressMode progress = ProgressMode::kAuto;
};

// Adds the flags above to `app`, in its "Model" help group, bound to *f (which must outlive the
// parse). Defaults shown are *f's values.
void AddModelFlags(CLI::App* app, ModelFlags* f);

// Adds --progress / --no-progress alone (for verbs that load a model without the other flags).
void AddProgressFlags(CLI::App* app, ProgressMode* mode);

// Model::Load(path, options), reporting "loading NAME" into *progress (its LoadCallback).
Result<std::unique_ptr<Model>> LoadModel(const std::string& path, LoadOptions options,
                                         ProgressLine* progress);

}  // namespace floe::cli
