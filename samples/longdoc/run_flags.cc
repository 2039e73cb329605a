#include "run_flags.h"

#include "api_params.h"
#include "attention_flags.h"
#include "checks.h"
#include "session_flags.h"

namespace floe::longdoc {

void AddRunFlags(CLI::App* app, RunFlags* f) {
  cli::AddModelFlags(app, &f->model);
  cli::AddThreadsFlag(app, &f->session.threads);
  cli::AddContextFlag(app, &f->session.context_length,
                      "session context, tokens (0 = the model's); longer documents slide");
  cli::AddKvFlag(app, &f->session.kv_dtype);
  cli::AddAttentionFlags(app, &f->session.attention);
  app->add_option("--stride", f->stride,
                  "sliding windows: tokens newly predicted per window (0 = half the context)")
      ->check(cli::IntAtLeast(0));
  app->add_flag("--jsonl", f->corpus.all_jsonl,
                "every input file is a JSONL corpus (else: *.jsonl)");
  app->add_option("--text-field", f->corpus.text_field, "JSONL: the field holding the text");
  app->add_option("--id-field", f->corpus.id_field, "JSONL: the field naming the document");
  app->add_option("-o,--out", f->out, "results, one JSON line per document ('-': stdout)")
      ->type_name("FILE");
  app->add_option("--progress-every", f->progress_every,
                  "a progress log line every S seconds (for logs; 0 = a live line on a terminal)")
      ->check(cli::RealRange(0, 1e9));
  app->add_option("inputs", f->inputs, "files, folders (recursive) or JSONL corpora")
      ->required()
      ->type_name("INPUT");
}

ModelPtr LoadModel(const cli::ModelFlags& f, std::string* error) {
  const floe_model_params p = ToModelParams(f);
  floe_model* m = nullptr;
  if (floe_model_load(f.model.c_str(), &p, &m) != FLOE_OK) {
    *error = floe_last_error();
    return nullptr;
  }
  return ModelPtr(m);
}

SessionPtr CreateSession(floe_model* model, const SessionParams& s, std::string* error) {
  const floe_session_params p = ToSessionParams(s);
  floe_session* out = nullptr;
  if (floe_session_create(model, &p, &out) != FLOE_OK) {
    *error = floe_last_error();
    return nullptr;
  }
  return SessionPtr(out);
}

size_t SessionContext(floe_model* model, const SessionParams& s) {
  return s.context_length ? s.context_length : size_t(floe_model_context_length(model));
}

bool Tokenize(floe_model* model, const std::string& text, std::vector<floe_token>* tokens,
              std::string* error) {
  const int bos = floe_model_bos(model) >= 0;
  size_t n = 0;
  floe_status st = floe_tokenize(model, text.data(), text.size(), bos, nullptr, 0, &n);
  if (st == FLOE_OK || st == FLOE_ERR_OUT_OF_RANGE) {
    tokens->resize(n);
    st = floe_tokenize(model, text.data(), text.size(), bos, tokens->data(), n, &n);
  }
  if (st != FLOE_OK) {
    *error = std::string("tokenizing: ") + floe_model_last_error(model);
    return false;
  }
  tokens->resize(n);
  return true;
}

bool PlanWindows(size_t n, size_t context, size_t stride_flag, size_t* window, size_t* stride,
                 std::string* error) {
  *window = *stride = 0;
  if (n <= context) return true;
  *window = context;
  *stride = stride_flag ? stride_flag : context / 2;
  if (*stride == 0 || *stride >= context) {
    *error = "--stride " + std::to_string(*stride) + " must be between 1 and the context (" +
             std::to_string(context) + ") - 1";
    return false;
  }
  return true;
}

}  // namespace floe::longdoc
