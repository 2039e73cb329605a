// C++20 RAII wrapper over the C API in floe.h: no separate implementation, every call goes
// through the C functions. Failures throw floe::Error (carrying the floe_status and the
// handle's last error message); destructors never throw. Thread-safety rules are those of floe.h.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "floe/floe.h"

namespace floe {

class Error : public std::runtime_error {
 public:
  Error(floe_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  floe_status status() const { return status_; }

 private:
  floe_status status_;
};

namespace detail {
inline void Check(floe_status st, const char* message) {
  if (st != FLOE_OK) throw Error(st, std::string(floe_status_string(st)) + ": " + message);
}
// Owns a C handle; frees it with the matching floe_*_free. Movable, not copyable.
template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <class T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;
}  // namespace detail

class Model {
 public:
  explicit Model(const std::string& path, floe_model_params params = floe_model_default_params()) {
    floe_model* m = nullptr;
    detail::Check(floe_model_load(path.c_str(), &params, &m), floe_last_error());
    h_.reset(m);
  }

  floe_model* get() const { return h_.get(); }
  int vocab_size() const { return floe_model_vocab_size(get()); }
  int context_length() const { return floe_model_context_length(get()); }
  std::string architecture() const { return floe_model_architecture(get()); }

  std::vector<floe_token> Tokenize(std::string_view text, bool add_bos = true) const {
    size_t n = 0;
    floe_status st = floe_tokenize(get(), text.data(), text.size(), add_bos, nullptr, 0, &n);
    if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) detail::Check(st, floe_model_last_error(get()));
    std::vector<floe_token> ids(n);
    detail::Check(floe_tokenize(get(), text.data(), text.size(), add_bos, ids.data(), ids.size(), &n),
                  floe_model_last_error(get()));
    return ids;
  }
  std::string Detokenize(std::span<const floe_token> ids) const {
    size_t n = 0;
    floe_status st = floe_detokenize(get(), ids.data(), ids.size(), nullptr, 0, &n);
    if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) detail::Check(st, floe_model_last_error(get()));
    std::string text(n + 1, '\0');
    detail::Check(floe_detokenize(get(), ids.data(), ids.size(), text.data(), text.size(), &n),
                  floe_model_last_error(get()));
    text.resize(n);
    return text;
  }
  std::string Meta(const std::string& key) const {
    size_t n = 0;
    floe_status st = floe_model_meta(get(), key.c_str(), nullptr, 0, &n);
    if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) detail::Check(st, floe_model_last_error(get()));
    std::string value(n + 1, '\0');
    detail::Check(floe_model_meta(get(), key.c_str(), value.data(), value.size(), &n), floe_model_last_error(get()));
    value.resize(n);
    return value;
  }

 private:
  detail::Handle<floe_model, floe_model_free> h_;
};

class Sampler {
 public:
  explicit Sampler(floe_sampler_params params = floe_sampler_default_params()) {
    floe_sampler* s = nullptr;
    detail::Check(floe_sampler_create(&params, &s), floe_last_error());
    h_.reset(s);
  }
  floe_sampler* get() const { return h_.get(); }

 private:
  detail::Handle<floe_sampler, floe_sampler_free> h_;
};

class Session {
 public:
  explicit Session(const Model& model, floe_session_params params = floe_session_default_params()) {
    floe_session* s = nullptr;
    detail::Check(floe_session_create(model.get(), &params, &s), floe_last_error());
    h_.reset(s);
  }

  floe_session* get() const { return h_.get(); }
  void Eval(std::span<const floe_token> ids) {
    detail::Check(floe_session_eval(get(), ids.data(), ids.size()), floe_session_last_error(get()));
  }
  std::span<const float> Logits(int vocab_size) const {
    return {floe_session_logits(get()), static_cast<size_t>(vocab_size)};
  }
  size_t position() const { return floe_session_position(get()); }
  void Reset() { floe_session_reset(get()); }
  void Cancel() { floe_session_cancel(get()); }  // any thread

  std::vector<unsigned char> SaveState() const {
    size_t n = 0;
    detail::Check(floe_session_state_size(get(), &n), floe_session_last_error(get()));
    std::vector<unsigned char> bytes(n);
    detail::Check(floe_session_state_save(get(), bytes.data(), bytes.size(), &n), floe_session_last_error(get()));
    bytes.resize(n);
    return bytes;
  }
  void LoadState(std::span<const unsigned char> bytes) {
    detail::Check(floe_session_state_load(get(), bytes.data(), bytes.size()), floe_session_last_error(get()));
  }
  Session Fork() const {
    floe_session* f = nullptr;
    detail::Check(floe_session_fork(get(), &f), floe_session_last_error(get()));
    return Session(f);
  }

  // Streams each token's UTF-8-complete text to on_text; return false from it to stop.
  // Returns the number of tokens generated. FLOE_ERR_CANCELLED is not an error here: a
  // cancelled generation returns what it produced.
  size_t Generate(const std::string& prompt, size_t max_tokens, Sampler& sampler,
                  const std::function<bool(std::string_view)>& on_text, bool add_bos = true) {
    size_t n = 0;
    auto trampoline = [](floe_token, const char* text, size_t len, void* user) -> int {
      auto* fn = static_cast<const std::function<bool(std::string_view)>*>(user);
      return (*fn) ? ((*fn)(std::string_view(text, len)) ? 1 : 0) : 1;
    };
    floe_status st = floe_generate(get(), prompt.c_str(), add_bos, max_tokens, sampler.get(), trampoline,
                                   const_cast<std::function<bool(std::string_view)>*>(&on_text), &n);
    if (st != FLOE_ERR_CANCELLED) detail::Check(st, floe_session_last_error(get()));
    return n;
  }

 private:
  explicit Session(floe_session* s) : h_(s) {}
  detail::Handle<floe_session, floe_session_free> h_;
};

}  // namespace floe
