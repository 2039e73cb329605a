// The C API over runtime/: versions, errors, model loading and queries, tokenization. No
// exception escapes: every entry point that can fail catches and converts to a status.
// Sessions live in c_api_session.cc, samplers and generation in c_api_sampler.cc.
#include <cstring>
#include <string>

#include "runtime/api/c_api_internal.h"

namespace floe::capi {

namespace {
thread_local std::string g_thread_error;      // errors of calls that have no handle yet
thread_local std::string g_model_error_copy;  // floe_model_last_error's returned string
}  // namespace

floe_status ToC(const floe::Status& s) {
  return static_cast<floe_status>(static_cast<int>(s.code()));
}

floe_status Fail(std::string* slot, floe_status code, const std::string& message) {
  if (slot) *slot = message;
  g_thread_error = message;
  return code;
}

floe_status Report(std::string* slot, const floe::Status& s) {
  if (s.ok()) return FLOE_OK;
  return Fail(slot, ToC(s), s.ToString());
}

floe_status FailModel(floe_model* m, floe_status code, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(m->error_mutex);
    m->last_error = message;
  }
  return Fail(nullptr, code, message);
}

floe_status ReportModel(floe_model* m, const floe::Status& s) {
  if (s.ok()) return FLOE_OK;
  return FailModel(m, ToC(s), s.ToString());
}

bool SizeOk(uint32_t struct_size, size_t expected) {
  return struct_size >= sizeof(uint32_t) && struct_size <= expected;
}

void ReleaseModel(floe_model* m) {
  if (m && m->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete m;
}

const char* ThreadError() { return g_thread_error.c_str(); }

const char* CopyModelError(const floe_model* m) {
  std::lock_guard<std::mutex> lock(const_cast<floe_model*>(m)->error_mutex);
  g_model_error_copy = m->last_error;
  return g_model_error_copy.c_str();
}

}  // namespace floe::capi

using namespace floe::capi;

namespace {

floe::LogLevel ToLevel(int32_t level) {
  if (level <= FLOE_LOG_DEBUG) return floe::LogLevel::kDebug;
  if (level >= FLOE_LOG_SILENT) return floe::LogLevel::kSilent;
  return static_cast<floe::LogLevel>(level);
}

// Metadata values as text: strings raw, arrays summarised, numbers as FormatGgufValue.
std::string MetaText(const floe::Model& m, const char* key, bool* found) {
  for (const auto& [k, v] : m.metadata())
    if (k == key) {
      *found = true;
      return v;
    }
  *found = false;
  return {};
}

}  // namespace

extern "C" {

const char* floe_version(void) { return "0.1.0"; }
int floe_api_version(void) { return FLOE_API_VERSION; }
const char* floe_last_error(void) { return ThreadError(); }

const char* floe_status_string(floe_status status) {
  if (static_cast<int>(status) < 0 || static_cast<int>(status) > FLOE_ERR_INTERNAL)
    return "unknown status";
  return floe::StatusCodeName(static_cast<floe::StatusCode>(status));
}

floe_model_params floe_model_default_params(void) {
  floe_model_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof(p);
  p.use_mmap = 1;
  p.huge_pages = 2;
  p.repack_weights = 1;
  p.log_level = FLOE_LOG_WARN;
  return p;
}

floe_status floe_model_load(const char* path, const floe_model_params* params, floe_model** out) {
  return Guard(nullptr, [&]() -> floe_status {
    if (out == nullptr)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_model_load: out is NULL");
    *out = nullptr;
    if (path == nullptr)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_model_load: path is NULL");
    floe_model_params p = floe_model_default_params();
    if (params) {
      if (!SizeOk(params->struct_size, sizeof(floe_model_params)))
        return Fail(
            nullptr, FLOE_ERR_INVALID_ARGUMENT,
            "floe_model_load: params->struct_size is wrong; use floe_model_default_params()");
      std::memcpy(&p, params, params->struct_size);
    }
    if (p.huge_pages < 0 || p.huge_pages > 2)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_model_load: params->huge_pages must be 0, 1 or 2, not " +
                      std::to_string(p.huge_pages));
    auto handle = std::make_unique<floe_model>();
    handle->logger.SetMinLevel(ToLevel(p.log_level));
    if (p.log) {
      const floe_log_callback cb = p.log;
      void* user = p.log_user_data;
      handle->logger.SetSink([cb, user](floe::LogLevel level, const std::string& msg) {
        cb(static_cast<floe_log_level>(level), msg.c_str(), user);
      });
    }
    floe::LoadOptions o;
    if (p.tokenizer_path) o.tokenizer_path = p.tokenizer_path;
    o.mode = p.use_mmap ? floe::FileLoadMode::kMmap : floe::FileLoadMode::kRead;
    o.huge_pages = static_cast<floe::HugePages>(p.huge_pages);
    o.repack_weights = p.repack_weights != 0;
    o.logger = &handle->logger;
    if (p.progress) {
      const floe_progress_callback cb = p.progress;
      void* user = p.progress_user_data;
      o.progress = [cb, user](float f) { return cb(f, user) != 0; };
    }
    auto m = floe::Model::Load(path, o);
    if (!m.ok()) return Report(nullptr, m.status());
    handle->model = std::move(m).value();
    *out = handle.release();
    return FLOE_OK;
  });
}

void floe_model_free(floe_model* model) { ReleaseModel(model); }

const char* floe_model_last_error(const floe_model* model) {
  return model ? CopyModelError(model) : "floe_model_last_error: model is NULL";
}

int32_t floe_model_vocab_size(const floe_model* m) {
  return m ? int32_t(m->model->lm().vocab_size()) : -1;
}
int32_t floe_model_context_length(const floe_model* m) {
  return m ? int32_t(m->model->lm().context_length()) : -1;
}
floe_token floe_model_bos(const floe_model* m) {
  return m && m->model->tokenizer() ? m->model->tokenizer()->bos() : -1;
}
floe_token floe_model_eos(const floe_model* m) {
  return m && m->model->tokenizer() ? m->model->tokenizer()->eos() : -1;
}
const char* floe_model_architecture(const floe_model* m) {
  return m ? m->model->architecture().c_str() : "";
}

size_t floe_model_meta_count(const floe_model* m) { return m ? m->model->metadata().size() : 0; }

const char* floe_model_meta_key(const floe_model* m, size_t i) {
  if (m == nullptr || i >= m->model->metadata().size()) return nullptr;
  return m->model->metadata()[i].first.c_str();
}

floe_status floe_model_meta(floe_model* model, const char* key, char* buf, size_t capacity,
                            size_t* len) {
  if (model == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_model_meta: model is NULL");
  return Guard(nullptr, [&]() -> floe_status {
    if (key == nullptr)
      return FailModel(model, FLOE_ERR_INVALID_ARGUMENT, "floe_model_meta: key is NULL");
    if (buf == nullptr && capacity > 0)
      return FailModel(model, FLOE_ERR_INVALID_ARGUMENT, "floe_model_meta: buf is NULL");
    bool found = false;
    const std::string text = MetaText(*model->model, key, &found);
    if (!found)
      return FailModel(model, FLOE_ERR_NOT_FOUND,
                       std::string("floe_model_meta: no key '") + key + "'");
    if (len) *len = text.size();
    if (text.size() + 1 > capacity)
      return FailModel(
          model, FLOE_ERR_OUT_OF_RANGE,
          "floe_model_meta: value needs " + std::to_string(text.size() + 1) + " bytes");
    std::memcpy(buf, text.c_str(), text.size() + 1);
    return FLOE_OK;
  });
}

floe_status floe_tokenize(floe_model* model, const char* text, size_t len, int add_bos,
                          floe_token* out, size_t capacity, size_t* n_tokens) {
  if (model == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_tokenize: model is NULL");
  return Guard(nullptr, [&]() -> floe_status {
    if (text == nullptr && len > 0)
      return FailModel(model, FLOE_ERR_INVALID_ARGUMENT, "floe_tokenize: text is NULL");
    if (out == nullptr && capacity > 0)
      return FailModel(model, FLOE_ERR_INVALID_ARGUMENT, "floe_tokenize: out is NULL");
    const floe::Tokenizer* tok = model->model->tokenizer();
    if (!tok)
      return FailModel(model, FLOE_ERR_UNSUPPORTED,
                       "floe_tokenize: the model has no tokenizer (pass tokenizer_path)");
    const auto ids = tok->Encode(std::string_view(text ? text : "", len), add_bos != 0);
    if (n_tokens) *n_tokens = ids.size();
    if (ids.size() > capacity)
      return FailModel(model, FLOE_ERR_OUT_OF_RANGE,
                       "floe_tokenize: " + std::to_string(ids.size()) +
                           " tokens do not fit in capacity " + std::to_string(capacity));
    std::copy(ids.begin(), ids.end(), out);
    return FLOE_OK;
  });
}

floe_status floe_detokenize(floe_model* model, const floe_token* tokens, size_t n, char* out,
                            size_t capacity, size_t* n_bytes) {
  if (model == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_detokenize: model is NULL");
  return Guard(nullptr, [&]() -> floe_status {
    if (tokens == nullptr && n > 0)
      return FailModel(model, FLOE_ERR_INVALID_ARGUMENT, "floe_detokenize: tokens is NULL");
    if (out == nullptr && capacity > 0)
      return FailModel(model, FLOE_ERR_INVALID_ARGUMENT, "floe_detokenize: out is NULL");
    const floe::Tokenizer* tok = model->model->tokenizer();
    if (!tok)
      return FailModel(model, FLOE_ERR_UNSUPPORTED, "floe_detokenize: the model has no tokenizer");
    const std::string text = tok->Decode(std::vector<int32_t>(tokens, tokens + n));
    if (n_bytes) *n_bytes = text.size();
    if (text.size() > capacity)
      return FailModel(model, FLOE_ERR_OUT_OF_RANGE,
                       "floe_detokenize: " + std::to_string(text.size()) +
                           " bytes do not fit in capacity " + std::to_string(capacity));
    if (!text.empty()) std::memcpy(out, text.data(), text.size());
    if (capacity > text.size()) out[text.size()] = '\0';
    return FLOE_OK;
  });
}

}  // extern "C"
