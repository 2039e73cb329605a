// floe logits: write float32 little-endian logits, one row of vocab_size per input position.
// The hook every parity check is built on.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <span>

#include "attention_flags.h"
#include "checks.h"
#include "commands.h"
#include "load_flags.h"
#include "session_flags.h"
#include "token_file.h"
#include "platform/base/output_file.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace floe::cli {

namespace {

// Logits held at once while writing: one chunk of rows (at least one prefill batch).
constexpr size_t kChunkLogitsBytes = size_t(64) << 20;

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
  // Progress over every chunk below: (tokens done before this chunk + done in it, all tokens).
  size_t offset = 0;
  params.progress = [cb = progress.PrefillCallback(), &offset, n = ids.size()](size_t done,
                                                                                 size_t) {
    return cb ? cb(offset + done, n) : true;
  };
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
  // Written as they come, chunk by chunk, so memory holds one chunk's logits, not the tokens x
  // vocab of the whole input (docs/allocation-audit.md item 13). A chunk is a multiple of the
  // session's prefill batch, so the forward passes are those of one Eval of every token. The
  // file appears only when all of it was written (OutputFile).
  auto out = OutputFile::Create(f.out_path);
  if (!out.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", out.status().ToString().c_str());
    return 1;
  }
  // All tokens against the context first (the chunks below would each be checked alone).
  if (Status st = CheckContextRoom(0, ids.size(), (*session)->capacity()); !st.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", st.ToString().c_str());
    return 1;
  }
  const size_t V = (*session)->vocab_size();
  const size_t batch = std::max<size_t>(1, params.batch);
  const size_t chunk = std::max<size_t>(1, kChunkLogitsBytes / (V * sizeof(float)) / batch) * batch;
  // Models that predict nothing for their first positions (a Block Transformer's first block)
  // get rows from their first predicted position on.
  const size_t first = std::min((*model)->lm().first_predicted_position(), ids.size());
  const size_t rows = ids.size() - first;
  progress.Start("prefill", double(ids.size()), "tok");
  for (offset = 0; offset < ids.size(); offset += chunk) {
    const size_t n = std::min(chunk, ids.size() - offset);
    Status st = (*session)->Eval(std::span<const int32_t>(ids.data() + offset, n),
                                 /*all_logits=*/true);
    if (st.ok() && offset + n > first) {
      const size_t skip = first > offset ? first - offset : 0;
      st = out->Write((*session)->all_logits().data() + skip * V, (n - skip) * V * sizeof(float));
    }
    if (!st.ok()) {
      progress.Finish();
      std::fprintf(stderr, "floe logits: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  progress.Finish();
  if (Status st = out->Commit(); !st.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", st.ToString().c_str());
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
