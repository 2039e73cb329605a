// floe logits: write float32 little-endian logits, one row of vocab_size per input position.
// The hook every parity check is built on.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "attention_flags.h"
#include "checks.h"
#include "commands.h"
#include "load_flags.h"
#include "session_flags.h"
#include "token_file.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace floe::cli {

namespace {

struct LogitsFlags {
  ModelFlags model;
  std::string prompt;
  std::string tokens_path;
  std::string out_path;
  SessionParams session;
};

int Run(const LogitsFlags& f) {
  ProgressLine progress(f.model.progress);
  auto model = LoadModel(f.model.model, f.model.load, &progress);
  if (!model.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", model.status().ToString().c_str());
    return 1;
  }
  std::vector<int32_t> ids;
  if (!f.tokens_path.empty()) {
    std::string err;
    if (!ReadTokenFile(f.tokens_path, &ids, &err)) {
      std::fprintf(stderr, "floe logits: %s\n", err.c_str());
      return 1;
    }
  } else {
    const Tokenizer* tok = (*model)->tokenizer();
    if (!tok) {
      std::fprintf(stderr, "floe logits: the model has no vocabulary; pass -z or --tokens\n");
      return 1;
    }
    ids = tok->Encode(f.prompt, /*add_bos=*/true);
  }
  if (ids.empty()) {
    std::fprintf(stderr, "floe logits: no tokens\n");
    return 1;
  }
  SessionParams params = f.session;
  params.progress = progress.PrefillCallback();
  // Just enough context for the tokens (and for the ice window and sinks, which must fit in it).
  size_t ctx = ids.size();
  if (params.attention.backend != AttentionBackend::kDense)
    ctx = std::max(ctx, params.attention.window + params.attention.sinks);
  params.context_length = std::min(ctx, (*model)->lm().context_length());
  auto session = Session::Create(**model, params);
  if (!session.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", session.status().ToString().c_str());
    return 1;
  }
  progress.Start("prefill", double(ids.size()), "tok");
  const Status st = (*session)->Eval(ids, /*all_logits=*/true);
  progress.Finish();
  if (!st.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", st.ToString().c_str());
    return 1;
  }
  const auto& all = (*session)->all_logits();
  // Models that predict nothing for their first positions (a Block Transformer's first block)
  // get rows from their first predicted position on.
  const size_t V = (*session)->vocab_size();
  const size_t first = std::min((*model)->lm().first_predicted_position(), ids.size());
  const size_t rows = ids.size() - first;
  std::FILE* out = std::fopen(f.out_path.c_str(), "wb");
  if (!out ||
      (rows > 0 && std::fwrite(all.data() + first * V, sizeof(float), rows * V, out) != rows * V) ||
      std::fclose(out) != 0) {
    std::fprintf(stderr, "floe logits: cannot write '%s'\n", f.out_path.c_str());
    return 1;
  }
  if (first > 0)
    std::fprintf(stderr,
                 "%s predicts nothing before position %zu: rows are positions %zu..%zu (row r "
                 "predicts token %zu + r + 1)\n",
                 (*model)->lm().architecture().c_str(), first, first, ids.size() - 1, first);
  std::fprintf(stderr, "wrote %zu x %zu logits to %s\n", rows, V, f.out_path.c_str());
  return 0;
}

}  // namespace

Verb AddLogits(CLI::App& floe) {
  auto f = std::make_shared<LogitsFlags>();
  CLI::App* app = floe.add_subcommand(
      "logits", "write the logits of every input position (float32 rows of vocab_size)");
  AddModelFlags(app, &f->model);
  CLI::Option* prompt = app->add_option("-p,--prompt", f->prompt, "text to evaluate (with BOS)");
  CLI::Option* tokens =
      app->add_option("--tokens", f->tokens_path, "token ids to evaluate, one per line")
          ->check(ExistingInputFile())
          ->type_name("FILE");
  prompt->excludes(tokens);
  AddOutputFlag(app, &f->out_path, "logits file to write");
  AddThreadsFlag(app, &f->session.threads);
  AddMemoryBudgetFlag(app, &f->session.memory_budget);
  app->add_option("--batch", f->session.batch,
                  "prefill chunk in tokens; 1 evaluates token by token (the decode path)")
      ->check(IntAtLeast(1));
  AddAttentionFlags(app, &f->session.attention);
  AddHeadPlanFlag(app, &f->session.head_plan);
  // Exactly one input: -p or --tokens (the excludes above refuses both).
  app->callback([prompt, tokens] {
    if (prompt->count() == 0 && tokens->count() == 0)
      throw CLI::RequiredError("-p PROMPT or --tokens FILE");
  });
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
