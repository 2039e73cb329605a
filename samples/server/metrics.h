// Server counters and gauges, rendered as Prometheus text (GET /metrics). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "state_cache.h"

namespace floe::serve {

class Metrics {
 public:
  // One finished HTTP request on `endpoint` ("/v1/completions", ...) with its status code.
  void CountRequest(const std::string& endpoint, int status);
  void AddPromptTokens(uint64_t n) { prompt_tokens_ += n; }
  // Tokens generated (completion tokens), also feeding the tok/s window.
  void AddCompletionTokens(uint64_t n);
  // One scheduler iteration that decoded `n` sequences in one batched forward.
  void ObserveDecodeBatch(size_t n);
  void ObservePrefillTokens(uint64_t n) { prefill_tokens_ += n; }
  void AddCachedTokens(uint64_t n) { cached_tokens_ += n; }
  void SetQueueDepth(size_t n) { queue_depth_ = n; }
  void SetActiveSessions(size_t n) { active_ = n; }
  void CountRejected() { rejected_ += 1; }
  void CountCancelled() { cancelled_ += 1; }
  // --cache-dir: rendered as floe_state_cache_* when set (before any thread renders).
  void SetStateCacheSource(std::function<StateCacheStats()> source) {
    state_cache_ = std::move(source);
  }

  // Generated tokens per second over the last kWindow.
  double TokensPerSecond();
  std::string Render();

 private:
  static constexpr std::chrono::seconds kWindow{10};
  static constexpr size_t kBuckets[] = {1, 2, 4, 8, 16, 32, 64, 128};
  using Clock = std::chrono::steady_clock;

  std::atomic<uint64_t> prompt_tokens_{0}, completion_tokens_{0}, prefill_tokens_{0},
      cached_tokens_{0};
  std::atomic<uint64_t> rejected_{0}, cancelled_{0};
  std::atomic<size_t> queue_depth_{0}, active_{0}, last_batch_{0};
  std::mutex mu_;  // guards the maps, the histogram and the window
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t batch_counts_[std::size(kBuckets) + 1] = {};
  uint64_t batch_sum_ = 0, batch_n_ = 0;
  std::deque<std::pair<Clock::time_point, uint64_t>> window_;
  const Clock::time_point start_ = Clock::now();
  std::function<StateCacheStats()> state_cache_;
};

}  // namespace floe::serve
