// The C API over runtime/ (Model, Session, Sampler). No exception escapes: every entry point
// that can fail catches and converts to a status + message.
#include "floe/floe.h"

#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "runtime/model.h"
#include "runtime/session.h"

struct floe_model {
  std::unique_ptr<floe::Model> model;
  std::string last_error;
};

struct floe_session {
  floe_model* owner = nullptr;
  std::unique_ptr<floe::Session> session;
  std::string last_error;
};

struct floe_sampler {
  std::unique_ptr<floe::Sampler> sampler;
};

namespace {

thread_local std::string g_thread_error;  // errors of calls that have no handle yet

floe_status ToC(const floe::Status& s) { return static_cast<floe_status>(static_cast<int>(s.code())); }

floe_status Fail(std::string* slot, floe_status code, const std::string& message) {
  if (slot) *slot = message;
  g_thread_error = message;
  return code;
}

floe_status Report(std::string* slot, const floe::Status& s) {
  if (s.ok()) return FLOE_OK;
  return Fail(slot, ToC(s), s.ToString());
}

// Runs f, converting any escaping exception (e.g. std::bad_alloc) into a status.
template <class F>
floe_status Guard(std::string* slot, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Fail(slot, FLOE_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return Fail(slot, FLOE_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(slot, FLOE_ERR_INTERNAL, "internal error");
  }
}

bool SizeOk(uint32_t struct_size, size_t expected) { return struct_size >= sizeof(uint32_t) && struct_size <= expected; }

}  // namespace

extern "C" {

const char* floe_version(void) { return "0.1.0"; }
int floe_api_version(void) { return FLOE_API_VERSION; }
const char* floe_last_error(void) { return g_thread_error.c_str(); }

const char* floe_status_string(floe_status status) {
  if (static_cast<int>(status) < 0 || static_cast<int>(status) > FLOE_ERR_INTERNAL) return "unknown status";
  return floe::StatusCodeName(static_cast<floe::StatusCode>(status));
}

floe_model_params floe_model_default_params(void) {
  floe_model_params p;
  p.struct_size = sizeof(p);
  p.tokenizer_path = nullptr;
  p.use_mmap = 1;
  return p;
}

floe_status floe_model_load(const char* path, const floe_model_params* params, floe_model** out) {
  return Guard(nullptr, [&]() -> floe_status {
    if (out == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_model_load: out is NULL");
    *out = nullptr;
    if (path == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_model_load: path is NULL");
    floe_model_params p = floe_model_default_params();
    if (params) {
      if (!SizeOk(params->struct_size, sizeof(floe_model_params)))
        return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_model_load: params->struct_size is wrong; use floe_model_default_params()");
      std::memcpy(&p, params, params->struct_size);
    }
    floe::LoadOptions o;
    if (p.tokenizer_path) o.tokenizer_path = p.tokenizer_path;
    o.mode = p.use_mmap ? floe::FileLoadMode::kMmap : floe::FileLoadMode::kRead;
    auto m = floe::Model::Load(path, o);
    if (!m.ok()) return Report(nullptr, m.status());
    auto handle = std::make_unique<floe_model>();
    handle->model = std::move(m).value();
    *out = handle.release();
    return FLOE_OK;
  });
}

void floe_model_free(floe_model* model) { delete model; }

const char* floe_model_last_error(const floe_model* model) {
  return model ? model->last_error.c_str() : "floe_model_last_error: model is NULL";
}

int32_t floe_model_vocab_size(const floe_model* m) { return m ? int32_t(m->model->lm().vocab_size()) : -1; }
int32_t floe_model_context_length(const floe_model* m) { return m ? int32_t(m->model->lm().context_length()) : -1; }
floe_token floe_model_bos(const floe_model* m) {
  return m && m->model->tokenizer() ? m->model->tokenizer()->bos() : -1;
}
floe_token floe_model_eos(const floe_model* m) {
  return m && m->model->tokenizer() ? m->model->tokenizer()->eos() : -1;
}

floe_status floe_tokenize(floe_model* model, const char* text, size_t len, int add_bos,
                          floe_token* out, size_t capacity, size_t* n_tokens) {
  if (model == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_tokenize: model is NULL");
  std::string* err = &model->last_error;
  return Guard(err, [&]() -> floe_status {
    if (text == nullptr && len > 0) return Fail(err, FLOE_ERR_INVALID_ARGUMENT, "floe_tokenize: text is NULL");
    if (out == nullptr && capacity > 0) return Fail(err, FLOE_ERR_INVALID_ARGUMENT, "floe_tokenize: out is NULL");
    const floe::Tokenizer* tok = model->model->tokenizer();
    if (!tok) return Fail(err, FLOE_ERR_UNSUPPORTED, "floe_tokenize: the model has no tokenizer (pass tokenizer_path)");
    const auto ids = tok->Encode(std::string_view(text ? text : "", len), add_bos != 0);
    if (n_tokens) *n_tokens = ids.size();
    if (ids.size() > capacity)
      return Fail(err, FLOE_ERR_OUT_OF_RANGE, "floe_tokenize: " + std::to_string(ids.size()) +
                                                  " tokens do not fit in capacity " + std::to_string(capacity));
    std::copy(ids.begin(), ids.end(), out);
    return FLOE_OK;
  });
}

floe_status floe_detokenize(floe_model* model, const floe_token* tokens, size_t n, char* out,
                            size_t capacity, size_t* n_bytes) {
  if (model == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_detokenize: model is NULL");
  std::string* err = &model->last_error;
  return Guard(err, [&]() -> floe_status {
    if (tokens == nullptr && n > 0) return Fail(err, FLOE_ERR_INVALID_ARGUMENT, "floe_detokenize: tokens is NULL");
    if (out == nullptr && capacity > 0) return Fail(err, FLOE_ERR_INVALID_ARGUMENT, "floe_detokenize: out is NULL");
    const floe::Tokenizer* tok = model->model->tokenizer();
    if (!tok) return Fail(err, FLOE_ERR_UNSUPPORTED, "floe_detokenize: the model has no tokenizer");
    const std::string text = tok->Decode(std::vector<int32_t>(tokens, tokens + n));
    if (n_bytes) *n_bytes = text.size();
    if (text.size() > capacity)
      return Fail(err, FLOE_ERR_OUT_OF_RANGE, "floe_detokenize: " + std::to_string(text.size()) +
                                                  " bytes do not fit in capacity " + std::to_string(capacity));
    std::memcpy(out, text.data(), text.size());
    if (capacity > text.size()) out[text.size()] = '\0';
    return FLOE_OK;
  });
}

floe_session_params floe_session_default_params(void) {
  floe_session_params p;
  p.struct_size = sizeof(p);
  p.n_threads = 0;
  p.context_length = 0;
  p.kv_type = FLOE_KV_F32;
  p.batch = 64;
  return p;
}

floe_status floe_session_create(floe_model* model, const floe_session_params* params, floe_session** out) {
  return Guard(nullptr, [&]() -> floe_status {
    if (out == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_create: out is NULL");
    *out = nullptr;
    if (model == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_create: model is NULL");
    floe_session_params p = floe_session_default_params();
    if (params) {
      if (!SizeOk(params->struct_size, sizeof(floe_session_params)))
        return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_create: params->struct_size is wrong; use floe_session_default_params()");
      std::memcpy(&p, params, params->struct_size);
    }
    if (p.kv_type != FLOE_KV_F32 && p.kv_type != FLOE_KV_F16)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_create: kv_type must be FLOE_KV_F32 or FLOE_KV_F16");
    floe::SessionParams sp;
    sp.threads = p.n_threads;
    sp.context_length = p.context_length;
    sp.kv_dtype = p.kv_type == FLOE_KV_F16 ? floe::DType::kF16 : floe::DType::kF32;
    sp.batch = p.batch;
    auto s = floe::Session::Create(*model->model, sp);
    if (!s.ok()) return Report(nullptr, s.status());
    auto handle = std::make_unique<floe_session>();
    handle->owner = model;
    handle->session = std::move(s).value();
    *out = handle.release();
    return FLOE_OK;
  });
}

void floe_session_free(floe_session* session) { delete session; }

const char* floe_session_last_error(const floe_session* s) {
  return s ? s->last_error.c_str() : "floe_session_last_error: session is NULL";
}

floe_status floe_session_eval(floe_session* s, const floe_token* tokens, size_t n) {
  if (s == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_eval: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (tokens == nullptr || n == 0)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT, "floe_session_eval: no tokens");
    return Report(&s->last_error, s->session->Eval(std::span<const int32_t>(tokens, n)));
  });
}

const float* floe_session_logits(const floe_session* s) { return s ? s->session->logits().data() : nullptr; }
size_t floe_session_position(const floe_session* s) { return s ? s->session->position() : 0; }
void floe_session_reset(floe_session* s) {
  if (s) s->session->Reset();
}
void floe_session_cancel(floe_session* s) {
  if (s) s->session->RequestCancel();
}

floe_sampler_params floe_sampler_default_params(void) {
  const floe::SamplerParams d;
  floe_sampler_params p;
  p.struct_size = sizeof(p);
  p.temperature = d.temperature;
  p.top_k = d.top_k;
  p.top_p = d.top_p;
  p.min_p = d.min_p;
  p.repeat_penalty = d.repeat_penalty;
  p.repeat_last_n = d.repeat_last_n;
  p.seed = d.seed;
  return p;
}

floe_status floe_sampler_create(const floe_sampler_params* params, floe_sampler** out) {
  return Guard(nullptr, [&]() -> floe_status {
    if (out == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_sampler_create: out is NULL");
    *out = nullptr;
    floe_sampler_params p = floe_sampler_default_params();
    if (params) {
      if (!SizeOk(params->struct_size, sizeof(floe_sampler_params)))
        return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_sampler_create: params->struct_size is wrong; use floe_sampler_default_params()");
      std::memcpy(&p, params, params->struct_size);
    }
    floe::SamplerParams sp;
    sp.temperature = p.temperature;
    sp.top_k = p.top_k;
    sp.top_p = p.top_p;
    sp.min_p = p.min_p;
    sp.repeat_penalty = p.repeat_penalty;
    sp.repeat_last_n = p.repeat_last_n;
    sp.seed = p.seed;
    floe::Status st = sp.Validate();
    if (!st.ok()) return Report(nullptr, st);
    auto handle = std::make_unique<floe_sampler>();
    handle->sampler = std::make_unique<floe::Sampler>(sp);
    *out = handle.release();
    return FLOE_OK;
  });
}

void floe_sampler_free(floe_sampler* sampler) { delete sampler; }

floe_status floe_sampler_sample(floe_sampler* sampler, const floe_session* s, floe_token* out) {
  if (sampler == nullptr || s == nullptr || out == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_sampler_sample: NULL argument");
  return Guard(nullptr, [&]() -> floe_status {
    if (s->session->position() == 0)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_sampler_sample: the session has evaluated no tokens");
    *out = sampler->sampler->Sample(s->session->logits(), s->session->tokens());
    return FLOE_OK;
  });
}

floe_status floe_generate(floe_session* s, const char* prompt, int add_bos, size_t max_tokens,
                          floe_sampler* sampler, floe_token_callback callback, void* user_data,
                          size_t* n_generated) {
  if (s == nullptr) return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_generate: session is NULL");
  std::string* err = &s->last_error;
  return Guard(err, [&]() -> floe_status {
    if (n_generated) *n_generated = 0;
    if (sampler == nullptr) return Fail(err, FLOE_ERR_INVALID_ARGUMENT, "floe_generate: sampler is NULL");
    const floe::Tokenizer* tok = s->session->model().tokenizer();
    if (!tok) return Fail(err, FLOE_ERR_UNSUPPORTED, "floe_generate: the model has no tokenizer");
    const auto ids = tok->Encode(prompt ? prompt : "", add_bos != 0);
    if (ids.empty() && s->session->position() == 0)
      return Fail(err, FLOE_ERR_INVALID_ARGUMENT, "floe_generate: empty prompt without BOS and an empty session");
    auto cb = [&](int32_t id, std::string_view text) {
      return callback == nullptr || callback(id, text.data(), text.size(), user_data) != 0;
    };
    auto r = s->session->Generate(ids, max_tokens, *sampler->sampler, cb);
    if (!r.ok()) return Report(err, r.status());
    if (n_generated) *n_generated = r->generated;
    return FLOE_OK;
  });
}

}  // extern "C"
