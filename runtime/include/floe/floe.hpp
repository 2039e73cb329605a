// C++20 RAII wrapper over the C API in floe.h: no separate implementation, every call goes
// through the C functions. Failures throw floe::Error (carrying the floe_status and the
// handle's last error message); destructors never throw. Thread-safety rules are those of floe.h.
#pragma once

#include <cstddef>
#include <functional>
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
}  // namespace detail

class Model {
 public:
  explicit Model(const std::string& path, floe_model_params params = floe_model_default_params()) {
    detail::Check(floe_model_load(path.c_str(), &params, &m_), floe_last_error());
  }
  ~Model() { floe_model_free(m_); }
  Model(Model&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Model& operator=(Model&& o) noexcept {
    if (this != &o) {
      floe_model_free(m_);
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  floe_model* get() const { return m_; }
  int vocab_size() const { return floe_model_vocab_size(m_); }
  int context_length() const { return floe_model_context_length(m_); }
  std::string architecture() const { return floe_model_architecture(m_); }

  std::vector<floe_token> Tokenize(std::string_view text, bool add_bos = true) const {
    size_t n = 0;
    floe_status st = floe_tokenize(m_, text.data(), text.size(), add_bos, nullptr, 0, &n);
    if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) detail::Check(st, floe_model_last_error(m_));
    std::vector<floe_token> ids(n);
    detail::Check(floe_tokenize(m_, text.data(), text.size(), add_bos, ids.data(), ids.size(), &n),
                  floe_model_last_error(m_));
    return ids;
  }
  std::string Detokenize(std::span<const floe_token> ids) const {
    size_t n = 0;
    floe_status st = floe_detokenize(m_, ids.data(), ids.size(), nullptr, 0, &n);
    if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) detail::Check(st, floe_model_last_error(m_));
    std::string text(n + 1, '\0');
    detail::Check(floe_detokenize(m_, ids.data(), ids.size(), text.data(), text.size(), &n),
                  floe_model_last_error(m_));
    text.resize(n);
    return text;
  }
  std::string Meta(const std::string& key) const {
    size_t n = 0;
    floe_status st = floe_model_meta(m_, key.c_str(), nullptr, 0, &n);
    if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) detail::Check(st, floe_model_last_error(m_));
    std::string value(n + 1, '\0');
    detail::Check(floe_model_meta(m_, key.c_str(), value.data(), value.size(), &n), floe_model_last_error(m_));
    value.resize(n);
    return value;
  }

 private:
  floe_model* m_ = nullptr;
};

class Sampler {
 public:
  explicit Sampler(floe_sampler_params params = floe_sampler_default_params()) {
    detail::Check(floe_sampler_create(&params, &s_), floe_last_error());
  }
  ~Sampler() { floe_sampler_free(s_); }
  Sampler(Sampler&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Sampler& operator=(Sampler&& o) noexcept {
    if (this != &o) {
      floe_sampler_free(s_);
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;
  floe_sampler* get() const { return s_; }

 private:
  floe_sampler* s_ = nullptr;
};

class Session {
 public:
  explicit Session(const Model& model, floe_session_params params = floe_session_default_params()) {
    detail::Check(floe_session_create(model.get(), &params, &s_), floe_last_error());
  }
  ~Session() { floe_session_free(s_); }
  Session(Session&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Session& operator=(Session&& o) noexcept {
    if (this != &o) {
      floe_session_free(s_);
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  floe_session* get() const { return s_; }
  void Eval(std::span<const floe_token> ids) {
    detail::Check(floe_session_eval(s_, ids.data(), ids.size()), floe_session_last_error(s_));
  }
  std::span<const float> Logits(int vocab_size) const {
    return {floe_session_logits(s_), static_cast<size_t>(vocab_size)};
  }
  size_t position() const { return floe_session_position(s_); }
  void Reset() { floe_session_reset(s_); }
  void Cancel() { floe_session_cancel(s_); }  // any thread

  std::vector<unsigned char> SaveState() const {
    size_t n = 0;
    detail::Check(floe_session_state_size(s_, &n), floe_session_last_error(s_));
    std::vector<unsigned char> bytes(n);
    detail::Check(floe_session_state_save(s_, bytes.data(), bytes.size(), &n), floe_session_last_error(s_));
    bytes.resize(n);
    return bytes;
  }
  void LoadState(std::span<const unsigned char> bytes) {
    detail::Check(floe_session_state_load(s_, bytes.data(), bytes.size()), floe_session_last_error(s_));
  }
  Session Fork() const {
    floe_session* f = nullptr;
    detail::Check(floe_session_fork(s_, &f), floe_session_last_error(s_));
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
    floe_status st = floe_generate(s_, prompt.c_str(), add_bos, max_tokens, sampler.get(), trampoline,
                                   const_cast<std::function<bool(std::string_view)>*>(&on_text), &n);
    if (st != FLOE_ERR_CANCELLED) detail::Check(st, floe_session_last_error(s_));
    return n;
  }

 private:
  explicit Session(floe_session* s) : s_(s) {}
  floe_session* s_ = nullptr;
};

}  // namespace floe
