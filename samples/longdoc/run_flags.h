// The flags floe longdoc score and compare share, and the model / session setup on the public
// API. Model, session and attention flags are the floe CLI's own (samples/floe), bound to the
// same structs, converted to the C API's params (api_params.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "documents.h"
#include "floe/floe.h"
#include "load_flags.h"
#include "runtime/engine/session.h"

namespace floe::longdoc {

struct RunFlags {
  cli::ModelFlags model;
  SessionParams session;  // threads, --ctx, --kv, attention
  size_t stride = 0;      // sliding windows: 0 = half the window
  CorpusOptions corpus;
  std::vector<std::string> inputs;
  std::string out = "-";
  double progress_every = 0;
};

// Adds the shared flags (model, session, attention, corpus, output, progress) bound to *f.
void AddRunFlags(CLI::App* app, RunFlags* f);

struct ModelDeleter {
  void operator()(floe_model* m) const { floe_model_free(m); }
};
struct SessionDeleter {
  void operator()(floe_session* s) const { floe_session_free(s); }
};
using ModelPtr = std::unique_ptr<floe_model, ModelDeleter>;
using SessionPtr = std::unique_ptr<floe_session, SessionDeleter>;

ModelPtr LoadModel(const cli::ModelFlags& f, std::string* error);
SessionPtr CreateSession(floe_model* model, const SessionParams& s, std::string* error);

// The context a session of these params holds: --ctx, else the model's.
size_t SessionContext(floe_model* model, const SessionParams& s);
// The tokens of `text` as the session reads them: BOS first when the model has one.
bool Tokenize(floe_model* model, const std::string& text, std::vector<floe_token>* tokens,
              std::string* error);
// Window and stride for a document of n tokens (window 0: carried). False when the stride does
// not fit the window.
bool PlanWindows(size_t n, size_t context, size_t stride_flag, size_t* window, size_t* stride,
                 std::string* error);

}  // namespace floe::longdoc
