// The C API: samplers and streaming generation.
#include <cstring>

#include "runtime/api/c_api_internal.h"

using namespace floe::capi;

extern "C" {

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
    if (out == nullptr)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_sampler_create: out is NULL");
    *out = nullptr;
    floe_sampler_params p = floe_sampler_default_params();
    if (params) {
      if (!SizeOk(params->struct_size, sizeof(floe_sampler_params)))
        return Fail(
            nullptr, FLOE_ERR_INVALID_ARGUMENT,
            "floe_sampler_create: params->struct_size is wrong; use floe_sampler_default_params()");
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
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_sampler_sample: the session has evaluated no tokens");
    *out = sampler->sampler->Sample(s->session->logits(), s->session->tokens());
    return FLOE_OK;
  });
}

floe_status floe_generate(floe_session* s, const char* prompt, int add_bos, size_t max_tokens,
                          floe_sampler* sampler, floe_token_callback callback, void* user_data,
                          size_t* n_generated) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_generate: session is NULL");
  std::string* err = &s->last_error;
  return Guard(err, [&]() -> floe_status {
    if (n_generated) *n_generated = 0;
    if (sampler == nullptr)
      return Fail(err, FLOE_ERR_INVALID_ARGUMENT, "floe_generate: sampler is NULL");
    const floe::Tokenizer* tok = s->session->model().tokenizer();
    if (!tok) return Fail(err, FLOE_ERR_UNSUPPORTED, "floe_generate: the model has no tokenizer");
    const auto ids = tok->Encode(prompt ? prompt : "", add_bos != 0);
    if (ids.empty() && s->session->position() == 0)
      return Fail(err, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_generate: empty prompt without BOS and an empty session");
    auto cb = [&](int32_t id, std::string_view text) {
      return callback == nullptr || callback(id, text.data(), text.size(), user_data) != 0;
    };
    auto r = s->session->Generate(ids, max_tokens, *sampler->sampler, cb);
    if (!r.ok()) return Report(err, r.status());
    if (n_generated) *n_generated = r->generated;
    if (r->reason == floe::StopReason::kCancelled)
      return Fail(err, FLOE_ERR_CANCELLED, "floe_generate: cancelled by floe_session_cancel");
    return FLOE_OK;
  });
}

}  // extern "C"
