// floe generate: stream text from a model. The prompt is echoed to stdout, then the generated
// text; a stats line goes to stderr.
#include <chrono>
#include <cstdio>
#include <memory>

#include "attention_flags.h"
#include "checks.h"
#include "commands.h"
#include "load_flags.h"
#include "session_flags.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace floe::cli {

namespace {

struct GenerateFlags {
  ModelFlags model;
  std::string prompt;
  long n_predict = 256;
  SamplerParams sampler;
  SessionParams session;
};

int Run(const GenerateFlags& f) {
  if (Status st = f.sampler.Validate(); !st.ok()) {
    std::fprintf(stderr, "floe generate: %s\n", st.ToString().c_str());
    return 2;
  }
  ProgressLine progress(f.model.progress);
  auto model = LoadModel(f.model.model, f.model.load, &progress);
  if (!model.ok()) {
    std::fprintf(stderr, "floe generate: %s\n", model.status().ToString().c_str());
    return 1;
  }
  const Tokenizer* tok = (*model)->tokenizer();
  if (!tok) {
    std::fprintf(stderr, "floe generate: %s has no vocabulary; pass -z tokenizer.bin\n",
                 f.model.model.c_str());
    return 1;
  }
  SessionParams params = f.session;
  params.progress = progress.PrefillCallback();
  auto session = Session::Create(**model, params);
  if (!session.ok()) {
    std::fprintf(stderr, "floe generate: %s\n", session.status().ToString().c_str());
    return 1;
  }
  const std::vector<int32_t> ids = tok->Encode(f.prompt, /*add_bos=*/true);
  Sampler sampler(f.sampler);
  const auto t0 = std::chrono::steady_clock::now();
  // The prompt is prefilled before it is echoed, so that a progress line (stderr) does not share
  // the terminal line with the prompt (stdout). Generate then continues from the session.
  if (!ids.empty()) {
    progress.Start("prefill", double(ids.size()), "tok");
    const Status st = (*session)->Eval(ids);
    progress.Finish();
    if (!st.ok()) {
      std::fprintf(stderr, "floe generate: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  std::fputs(f.prompt.c_str(), stdout);
  std::fflush(stdout);
  auto r =
      (*session)->Generate({}, size_t(f.n_predict), sampler, [](int32_t, std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
      });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fputs("\n", stdout);
  std::fflush(stdout);  // before the stats line on stderr
  if (!r.ok()) {
    std::fprintf(stderr, "floe generate: %s\n", r.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "[%zu prompt tokens, %zu generated, %s, %.1f tok/s]\n", ids.size(),
               r->generated, StopReasonName(r->reason),
               secs > 0 ? double(ids.size() + r->generated) / secs : 0.0);
  return 0;
}

}  // namespace

Verb AddGenerate(CLI::App& floe) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* app = floe.add_subcommand("generate", "stream text from a model");
  AddModelFlags(app, &f->model);
  app->add_option("-p,--prompt", f->prompt, "text to continue");
  app->add_option("-n,--n-predict", f->n_predict, "tokens to generate at most")
      ->check(IntAtLeast(0));
  AddThreadsFlag(app, &f->session.threads);
  AddContextFlag(app, &f->session.context_length, "context length, 0 = the model's");
  AddKvFlag(app, &f->session.kv_dtype);
  const char* sampling = "Sampling";
  SamplerParams& s = f->sampler;
  app->add_option("--temp", s.temperature, "temperature (>= 0), 0 = greedy")
      ->check(Real())
      ->group(sampling);
  app->add_option("--top-k", s.top_k, "sample from the K most likely tokens (>= 0), 0: off")
      ->group(sampling);
  app->add_option("--top-p", s.top_p, "nucleus sampling mass in (0, 1], 1: off")
      ->check(Real())
      ->group(sampling);
  app->add_option("--min-p", s.min_p, "drop tokens under P x the top probability, 0: off")
      ->check(Real())
      ->group(sampling);
  app->add_option("--repeat-penalty", s.repeat_penalty, "penalty on recent tokens, 1: off")
      ->check(Real())
      ->group(sampling);
  app->add_option("-s,--seed", s.seed, "random seed")->check(IntAtLeast(0))->group(sampling);
  AddAttentionFlags(app, &f->session.attention);
  AddHeadPlanFlag(app, &f->session.head_plan);
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
