// floe logits: write float32 little-endian logits, one row of vocab_size per input position.
// The hook every parity check is built on.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "args.h"
#include "attention_flags.h"
#include "load_flags.h"
#include "commands.h"
#include "runtime/model.h"
#include "runtime/session.h"

namespace floe::cli {

namespace {

// One token id per line (blank lines ignored). Errors name the line.
bool ReadTokenFile(const std::string& path, std::vector<int32_t>* ids, std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = "cannot open token file '" + path + "'";
    return false;
  }
  std::string line;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream ss(line);
    long long v;
    std::string rest;
    if (!(ss >> v)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      *err = path + ":" + std::to_string(lineno) + ": not a token id: '" + line + "'";
      return false;
    }
    if (ss >> rest || v < 0 || v > INT32_MAX) {
      *err = path + ":" + std::to_string(lineno) + ": expected one non-negative id per line";
      return false;
    }
    ids->push_back(int32_t(v));
  }
  return true;
}

}  // namespace

int RunLogits(int argc, char** argv) {
  Args a(argc, argv, 2, {});
  const std::string model_path = a.Get("-m", "--model", "");
  const std::string out_path = a.Get("-o", "--output", "");
  SessionParams params;
  params.threads = int(a.GetInt("--threads", "", 0));
  if (std::string err; !ParseAttentionFlags(a, &params.attention, &err)) {
    std::fprintf(stderr, "floe logits: %s\n", err.c_str());
    return 2;
  }
  if (!a.ok() || model_path.empty() || out_path.empty() || (a.Has("-p", "--prompt") == a.Has("--tokens"))) {
    std::fprintf(stderr, "floe logits: %s\n", !a.ok() ? a.error().c_str()
                 : "usage: floe logits -m MODEL [-z TOK] (-p PROMPT | --tokens FILE) -o OUT.f32");
    return 2;
  }
  LoadOptions lo;
  lo.tokenizer_path = a.Get("-z", "--tokenizer", "");
  if (std::string err; !ParseLoadFlags(a, &lo, &err)) {
    std::fprintf(stderr, "floe logits: %s\n", err.c_str());
    return 2;
  }
  auto model = Model::Load(model_path, lo);
  if (!model.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", model.status().ToString().c_str());
    return 1;
  }
  std::vector<int32_t> ids;
  if (a.Has("--tokens")) {
    std::string err;
    if (!ReadTokenFile(a.Get("--tokens", "", ""), &ids, &err)) {
      std::fprintf(stderr, "floe logits: %s\n", err.c_str());
      return 1;
    }
  } else {
    const Tokenizer* tok = (*model)->tokenizer();
    if (!tok) {
      std::fprintf(stderr, "floe logits: the model has no vocabulary; pass -z or --tokens\n");
      return 1;
    }
    ids = tok->Encode(a.Get("-p", "--prompt", ""), /*add_bos=*/true);
  }
  if (ids.empty()) {
    std::fprintf(stderr, "floe logits: no tokens\n");
    return 1;
  }
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
  if (Status st = (*session)->Eval(ids, /*all_logits=*/true); !st.ok()) {
    std::fprintf(stderr, "floe logits: %s\n", st.ToString().c_str());
    return 1;
  }
  const auto& logits = (*session)->all_logits();
  std::FILE* f = std::fopen(out_path.c_str(), "wb");
  if (!f || std::fwrite(logits.data(), sizeof(float), logits.size(), f) != logits.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "floe logits: cannot write '%s'\n", out_path.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %zu x %zu logits to %s\n", ids.size(), (*session)->vocab_size(), out_path.c_str());
  return 0;
}

}  // namespace floe::cli
