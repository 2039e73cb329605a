// Decode-attention benchmark: one decode step of exact dense attention (DenseAttention, one
// query token) over every layer of a KV cache filled to a given depth, against the machine's
// streaming read bandwidth measured in the same run. At long depths a decode step reads the
// whole cache (2 * layers * kv_heads * depth * head_dim elements), so the read bandwidth is the
// bound; the default shape is the 1b preset's (16 layers, 32 query heads, 8 KV heads, 64 dims).
//
// usage: bench_attention [-t THREADS] [-r REPEATS] [-n STEPS] [-d 4096,16384,32768]
//                        [--layers 16] [--heads 32] [--kv-heads 8] [--head-dim 64] [--kv f16|f32]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "attention/dense/dense_attention.h"
#include "attention/dense/kv_cache.h"
#include "bench/common/bench_util.h"
#include "bench/common/read_bandwidth.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/thread_context.h"

using namespace floe;
using namespace floe::bench;

int main(int argc, char** argv) {
  const int threads = std::atoi(Arg(argc, argv, "-t", "2"));
  const int repeats = std::max(1, std::atoi(Arg(argc, argv, "-r", "5")));
  const int steps = std::max(1, std::atoi(Arg(argc, argv, "-n", "8")));
  const std::vector<size_t> depths = List(Arg(argc, argv, "-d", "4096,16384,32768"));
  const size_t layers = std::strtoull(Arg(argc, argv, "--layers", "16"), nullptr, 10);
  const size_t heads = std::strtoull(Arg(argc, argv, "--heads", "32"), nullptr, 10);
  const size_t kv_heads = std::strtoull(Arg(argc, argv, "--kv-heads", "8"), nullptr, 10);
  const size_t hd = std::strtoull(Arg(argc, argv, "--head-dim", "64"), nullptr, 10);
  const std::string kv = Arg(argc, argv, "--kv", "f16");
  if (depths.empty() || layers == 0 || kv_heads == 0 || hd == 0 || heads % kv_heads != 0 ||
      (kv != "f16" && kv != "f32")) {
    std::fprintf(stderr, "bad arguments (heads must be a multiple of kv-heads; --kv f16|f32)\n");
    return 2;
  }
  size_t max_depth = 0;
  for (size_t d : depths) max_depth = std::max(max_depth, d);
  if (max_depth == 0) {
    std::fprintf(stderr, "depths must be positive\n");
    return 2;
  }
  ThreadContext tc(threads);

  // Baseline of the same run: streaming read of a buffer larger than the caches.
  Stats read;
  {
    AlignedBuffer<uint8_t> pool;
    if (!MeasureReadBandwidth(size_t(512) << 20, repeats, &tc, &pool, &read)) return 1;
  }

  KvCache cache;
  if (Status s =
          cache.Init(layers, kv_heads, hd, max_depth + 1, kv == "f16" ? DType::kF16 : DType::kF32);
      !s.ok()) {
    std::fprintf(stderr, "KV cache: %s\n", s.message().c_str());
    return 1;
  }
  // Uniform(-sqrt(3), sqrt(3)) entries (unit variance) from a cheap generator: filling a 32k-deep
  // cache with std::normal_distribution took longer than the measurement.
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto normal = [&state](auto&) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (float((state >> 40) & 0xFFFFFF) / float(1 << 24) * 2.0f - 1.0f) * 1.7320508f;
  };
  int rng = 0;
  std::vector<float> k(kv_heads * hd), v(kv_heads * hd);
  for (size_t l = 0; l < layers; ++l)
    for (size_t p = 0; p <= max_depth; ++p) {
      for (float& x : k) x = normal(rng);
      for (float& x : v) x = normal(rng);
      cache.Store(l, p, k.data(), v.data());
    }
  std::vector<float> q(heads * hd), out(heads * hd);
  for (float& x : q) x = normal(rng);

  std::printf(
      "threads %d; %zu layers, %zu heads, %zu KV heads, head_dim %zu, %s KV cache; streaming read "
      "%.1f GB/s "
      "(median of %d)\n",
      tc.num_threads(), layers, heads, kv_heads, hd, kv.c_str(), read.median, repeats);
  std::printf("%8s %12s %10s %10s %9s %9s\n", "depth", "ms/token", "(best)", "KV GB/s", "of read",
              "GMAC/s");
  for (size_t depth : depths) {
    std::vector<double> per_step;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int s = 0; s < steps; ++s)
        for (size_t l = 0; l < layers; ++l) {
          DenseAttentionArgs a;
          a.cache = &cache;
          a.layer = l;
          a.n_heads = heads;
          a.n_tokens = 1;
          a.first_pos = depth - 1;  // the query sees `depth` keys
          a.q = q.data();
          a.out = out.data();
          DenseAttention(a, &tc);
        }
      per_step.push_back(Seconds(t0) / steps);
    }
    const Stats s = Summarize(per_step);
    const double bytes = 2.0 * double(layers * kv_heads * depth * hd) * (kv == "f16" ? 2 : 4);
    const double gbs = bytes / s.median / 1e9;
    const double macs = 2.0 * double(layers * heads * depth * hd);
    std::printf("%8zu %12.2f %10.2f %10.1f %8.0f%% %9.1f\n", depth, s.median * 1e3, s.min * 1e3,
                gbs, 100.0 * gbs / read.median, macs / s.median / 1e9);
  }
  return out[0] == 0.5f ? 3 : 0;  // keeps the results observable
}
