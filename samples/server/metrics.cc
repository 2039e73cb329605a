#include "metrics.h"

#include <cstdio>

namespace floe::serve {

void Metrics::CountRequest(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{endpoint, status}] += 1;
}

void Metrics::AddCompletionTokens(uint64_t n) {
  completion_tokens_ += n;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  window_.emplace_back(now, n);
  while (!window_.empty() && now - window_.front().first > kWindow) window_.pop_front();
}

void Metrics::ObserveDecodeBatch(size_t n) {
  last_batch_ = n;
  std::lock_guard<std::mutex> lock(mu_);
  size_t b = 0;
  while (b < std::size(kBuckets) && n > kBuckets[b]) ++b;
  batch_counts_[b] += 1;
  batch_sum_ += n;
  batch_n_ += 1;
}

double Metrics::TokensPerSecond() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  while (!window_.empty() && now - window_.front().first > kWindow) window_.pop_front();
  uint64_t n = 0;
  for (const auto& w : window_) n += w.second;
  const double span = std::min(std::chrono::duration<double>(now - start_).count(),
                               std::chrono::duration<double>(kWindow).count());
  return span > 0 ? double(n) / span : 0.0;
}

namespace {
void Line(std::string* out, const char* name, const char* type, const char* help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}
void Value(std::string* out, const std::string& name, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.17g\n", v);
  *out += name + buf;
}
}  // namespace

std::string Metrics::Render() {
  const double tps = TokensPerSecond();
  std::string o;
  Line(&o, "floe_requests_total", "counter", "HTTP requests answered, by endpoint and status");
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, n] : requests_)
      Value(&o,
            "floe_requests_total{endpoint=\"" + key.first + "\",status=\"" +
                std::to_string(key.second) + "\"}",
            double(n));
  }
  Line(&o, "floe_prompt_tokens_total", "counter", "prompt tokens of admitted requests");
  Value(&o, "floe_prompt_tokens_total", double(prompt_tokens_));
  Line(&o, "floe_prefill_tokens_total", "counter", "prompt tokens evaluated (prefill)");
  Value(&o, "floe_prefill_tokens_total", double(prefill_tokens_));
  Line(&o, "floe_prompt_cached_tokens_total", "counter",
       "prompt tokens found in a session's history (not evaluated again)");
  Value(&o, "floe_prompt_cached_tokens_total", double(cached_tokens_));
  Line(&o, "floe_completion_tokens_total", "counter", "tokens generated");
  Value(&o, "floe_completion_tokens_total", double(completion_tokens_));
  Line(&o, "floe_rejected_total", "counter", "requests refused with 429 (queue full)");
  Value(&o, "floe_rejected_total", double(rejected_));
  Line(&o, "floe_cancelled_total", "counter", "generations cancelled by a client disconnect");
  Value(&o, "floe_cancelled_total", double(cancelled_));
  Line(&o, "floe_queue_depth", "gauge", "requests waiting for a session");
  Value(&o, "floe_queue_depth", double(queue_depth_));
  Line(&o, "floe_active_sessions", "gauge", "requests holding a session (prefill or decode)");
  Value(&o, "floe_active_sessions", double(active_));
  Line(&o, "floe_decode_batch_size_last", "gauge", "sequences in the last batched decode step");
  Value(&o, "floe_decode_batch_size_last", double(last_batch_));
  Line(&o, "floe_tokens_per_second", "gauge", "tokens generated per second, last 10 s");
  Value(&o, "floe_tokens_per_second", tps);
  if (state_cache_) {
    const StateCacheStats c = state_cache_();
    const struct {
      const char* name;
      const char* type;
      const char* help;
      uint64_t v;
    } rows[] = {
        {"floe_state_cache_saved_total", "counter", "session states written to --cache-dir",
         c.saved},
        {"floe_state_cache_restored_total", "counter", "requests that restored a saved state",
         c.restored},
        {"floe_state_cache_restored_tokens_total", "counter",
         "prompt tokens restored from saved states (not evaluated)", c.restored_tokens},
        {"floe_state_cache_refused_total", "counter",
         "state files refused (bad header, tokens or state)", c.refused},
        {"floe_state_cache_evicted_total", "counter", "states deleted to stay under the cap",
         c.evicted},
        {"floe_state_cache_bytes", "gauge", "bytes of the saved states", c.bytes},
        {"floe_state_cache_files", "gauge", "saved states", c.files},
    };
    for (const auto& r : rows) {
      Line(&o, r.name, r.type, r.help);
      Value(&o, r.name, double(r.v));
    }
  }
  Line(&o, "floe_decode_batch_size", "histogram", "sequences per batched decode step");
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t cum = 0;
  for (size_t b = 0; b < std::size(kBuckets); ++b) {
    cum += batch_counts_[b];
    Value(&o, "floe_decode_batch_size_bucket{le=\"" + std::to_string(kBuckets[b]) + "\"}",
          double(cum));
  }
  cum += batch_counts_[std::size(kBuckets)];
  Value(&o, "floe_decode_batch_size_bucket{le=\"+Inf\"}", double(cum));
  Value(&o, "floe_decode_batch_size_sum", double(batch_sum_));
  Value(&o, "floe_decode_batch_size_count", double(batch_n_));
  return o;
}

}  // namespace floe::serve
