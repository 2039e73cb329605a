// floe generate: stream text from a model.
#include <chrono>
#include <cstdio>

#include "args.h"
#include "attention_flags.h"
#include "load_flags.h"
#include "commands.h"
#include "runtime/model.h"
#include "runtime/session.h"

namespace floe::cli {

int RunGenerate(int argc, char** argv) {
  Args a(argc, argv, 2, {});
  const std::string model_path = a.Get("-m", "--model", "");
  const std::string prompt = a.Get("-p", "--prompt", "");
  const long n = a.GetInt("-n", "--n-predict", 256);
  SamplerParams sp;
  sp.temperature = float(a.GetFloat("--temp", "-t", sp.temperature));
  sp.top_k = int32_t(a.GetInt("--top-k", "", sp.top_k));
  sp.top_p = float(a.GetFloat("--top-p", "", sp.top_p));
  sp.min_p = float(a.GetFloat("--min-p", "", sp.min_p));
  sp.repeat_penalty = float(a.GetFloat("--repeat-penalty", "", sp.repeat_penalty));
  sp.seed = uint64_t(a.GetInt("--seed", "-s", 0));
  SessionParams params;
  params.threads = int(a.GetInt("--threads", "", 0));
  params.context_length = size_t(a.GetInt("--ctx", "-c", 0));
  const std::string kv = a.Get("--kv", "", "f32");
  if (!a.ok() || model_path.empty() || n < 0 || (kv != "f32" && kv != "f16")) {
    std::fprintf(stderr, "floe generate: %s\n", !a.ok() ? a.error().c_str()
                                                         : model_path.empty() ? "-m MODEL is required"
                                                                              : "bad -n or --kv value");
    return 2;
  }
  params.kv_dtype = kv == "f16" ? DType::kF16 : DType::kF32;
  if (std::string err; !ParseAttentionFlags(a, &params.attention, &err)) {
    std::fprintf(stderr, "floe generate: %s\n", err.c_str());
    return 2;
  }
  if (Status st = sp.Validate(); !st.ok()) {
    std::fprintf(stderr, "floe generate: %s\n", st.ToString().c_str());
    return 2;
  }
  LoadOptions lo;
  lo.tokenizer_path = a.Get("-z", "--tokenizer", "");
  if (std::string err; !ParseLoadFlags(a, &lo, &err)) {
    std::fprintf(stderr, "floe generate: %s\n", err.c_str());
    return 2;
  }
  auto model = Model::Load(model_path, lo);
  if (!model.ok()) {
    std::fprintf(stderr, "floe generate: %s\n", model.status().ToString().c_str());
    return 1;
  }
  const Tokenizer* tok = (*model)->tokenizer();
  if (!tok) {
    std::fprintf(stderr, "floe generate: %s has no vocabulary; pass -z tokenizer.bin\n", model_path.c_str());
    return 1;
  }
  auto session = Session::Create(**model, params);
  if (!session.ok()) {
    std::fprintf(stderr, "floe generate: %s\n", session.status().ToString().c_str());
    return 1;
  }
  const std::vector<int32_t> ids = tok->Encode(prompt, /*add_bos=*/true);
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  Sampler sampler(sp);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = (*session)->Generate(ids, size_t(n), sampler, [](int32_t, std::string_view text) {
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
  std::fprintf(stderr, "[%zu prompt tokens, %zu generated, %s, %.1f tok/s]\n", ids.size(), r->generated,
               StopReasonName(r->reason), secs > 0 ? double(ids.size() + r->generated) / secs : 0.0);
  return 0;
}

}  // namespace floe::cli
