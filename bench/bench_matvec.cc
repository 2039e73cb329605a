// Decode-kernel benchmark: MatVec throughput per weight type on the matrix shapes of a Llama
// layer, against the machine's streaming read bandwidth measured in the same run (the bound a
// memory-bound matrix-vector product can reach). Matrices are cycled through a pool larger than
// the caches, as in a real decode step.
//
// usage: bench_matvec [-t THREADS] [-r REPEATS] [--pool-mib 768]
//                     [--types f32,f16,bf16,q8_0,q4_0]   (also q4_K, q5_K, q6_K: random blocks;
//                     q4_0r16, q8_0r16, q4_Kr16, q6_Kr16: repacked in 16-row panels as at
//                     model load)
//                     [--shapes 2048x2048,8192x2048,2048x8192]   (rows x cols) [--cpu-time]
//                     [--tokens N]   (N > 1: MatMul with N tokens, the prefill kernel)
//                     [--peak]   (first: one core's FP32 FMA and int8 vpdpbusd peaks)
// "of read": the median over repetitions of the pass's GB/s over that of a streaming read of the
// same matrices timed just before it (paired, so that the machine's bandwidth drifting between
// the start and a type's turn does not enter the ratio); the header's read is the start's. The
// read is the faster of a plain and a prefetching one at the start (read_bandwidth.h).
// --cpu-time times with the process's CPU clock instead of the wall clock: with -t 1 and a pool
// that fits in cache it measures the kernels' instruction throughput, unaffected by other load.
// [--passes N] runs N passes over the pool per timed sample (default 1): with a pool in cache,
// samples long enough for the CPU clock's resolution.
#include <immintrin.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/read_bandwidth.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/dtype.h"
#include "platform/kernels/ops.h"
#include "platform/quant/quant.h"
#include "platform/quant/row_panels.h"
#include "platform/base/thread_context.h"

using namespace floe;
using namespace floe::bench;

namespace {

bool ParseType(const std::string& s, DType* t) {
  if (s == "f32")
    *t = DType::kF32;
  else if (s == "f16")
    *t = DType::kF16;
  else if (s == "bf16")
    *t = DType::kBF16;
  else if (s == "q8_0")
    *t = DType::kQ8_0;
  else if (s == "q4_0")
    *t = DType::kQ4_0;
  else if (s == "q4_K")
    *t = DType::kQ4_K;
  else if (s == "q5_K")
    *t = DType::kQ5_K;
  else if (s == "q6_K")
    *t = DType::kQ6_K;
  else if (s == "q4_0r16")
    *t = DType::kQ4_0R16;
  else if (s == "q8_0r16")
    *t = DType::kQ8_0R16;
  else if (s == "q4_Kr16")
    *t = DType::kQ4_KR16;
  else if (s == "q6_Kr16")
    *t = DType::kQ6_KR16;
  else
    return false;
  return true;
}

// Fills `rows` x `cols` weights of type t at dst from uniform(-1, 1) floats (row-panel types:
// their block type's matrix, repacked as a model load does).
void FillMatrix(DType t, size_t rows, size_t cols, std::mt19937* rng, uint8_t* dst) {
  if (IsRowPanels(t)) {
    const DType base = PanelBlockType(t);
    std::vector<uint8_t> plain(rows * DTypeBytes(base, cols));
    FillMatrix(base, rows, cols, rng, plain.data());
    RepackRowPanels(TensorView{base, plain.data(), rows, cols}, 0, rows / kPanelRows, dst);
    return;
  }
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> row(cols);
  const size_t rb = DTypeBytes(t, cols);
  for (size_t r = 0; r < rows; ++r) {
    for (float& v : row) v = u(*rng);
    uint8_t* out = dst + r * rb;
    switch (t) {
      case DType::kF32:
        std::memcpy(out, row.data(), rb);
        break;
      case DType::kF16:
        for (size_t c = 0; c < cols; ++c) reinterpret_cast<uint16_t*>(out)[c] = F32ToF16(row[c]);
        break;
      case DType::kBF16:
        for (size_t c = 0; c < cols; ++c) reinterpret_cast<uint16_t*>(out)[c] = F32ToBF16(row[c]);
        break;
      case DType::kQ8_0:
        QuantizeRowQ8_0(row.data(), cols, reinterpret_cast<BlockQ8_0*>(out));
        break;
      case DType::kQ4_0:
        QuantizeRowQ4_0(row.data(), cols, reinterpret_cast<BlockQ4_0*>(out));
        break;
      default: {  // K-quants (no quantizer here): random codes, scales 1/64
        std::uniform_int_distribution<int> byte(0, 255);
        for (size_t i = 0; i < rb; ++i) out[i] = uint8_t(byte(*rng));
        const uint16_t d = F32ToF16(1.0f / 64.0f);
        for (size_t b = 0; b < cols / 256; ++b) {
          uint8_t* blk = out + b * DTypeBlockBytes(t);
          std::memcpy(blk + (t == DType::kQ6_K ? 208 : 0), &d, 2);
          if (t == DType::kQ4_K || t == DType::kQ5_K) std::memcpy(blk + 2, &d, 2);
        }
        break;
      }
    }
  }
}

}  // namespace

namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// The lanes of the peak loops' chains, summed so that the compiler keeps the chains. Through
// memory, not _mm512_reduce_add_*: GCC 12's reductions warn (-Wuninitialized, inside
// avx512fintrin.h) in functions whose target lacks AVX-512 VL.
template <class V, class E>
double LaneSum(const V (&chains)[12]) {
  E lanes[sizeof(V) / sizeof(E)];
  double sum = 0;
  for (const V& v : chains) {
    std::memcpy(lanes, &v, sizeof v);
    for (E e : lanes) sum += double(e);
  }
  return sum;
}

// One core's multiply-add peaks, measured as the FP32 FMA peak was for the prefill kernels: 12
// independent 512-bit chains (more than latency x issue width), CPU time of one thread. Returns
// G multiply-adds per second: 16 per vfmadd, 64 (int8 x int8 -> int32) per vpdpbusd.
__attribute__((target("avx512f"))) double FmaPeak(size_t iters) {
  __m512 a[12];
  for (int k = 0; k < 12; ++k) a[k] = _mm512_set1_ps(float(k));
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  const double t0 = CpuSeconds();
  for (size_t i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) a[k] = _mm512_fmadd_ps(a[k], b, c);
  const double t = CpuSeconds() - t0;
  if (LaneSum<__m512, float>(a) == 12345.0) std::puts("");
  return double(iters) * 12 * 16 / t * 1e-9;
}

__attribute__((target("avx512f,avx512vnni"))) double VnniPeak(size_t iters) {
  __m512i a[12];
  for (int k = 0; k < 12; ++k) a[k] = _mm512_set1_epi32(k);
  const __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(-2);
  const double t0 = CpuSeconds();
  for (size_t i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) a[k] = _mm512_dpbusd_epi32(a[k], u, v);
  const double t = CpuSeconds() - t0;
  if (LaneSum<__m512i, int32_t>(a) == 12345) std::puts("");
  return double(iters) * 12 * 64 / t * 1e-9;
}

__attribute__((target("avx512f,avx512bf16"))) double Bf16Peak(size_t iters) {
  __m512 a[12];
  for (int k = 0; k < 12; ++k) a[k] = _mm512_set1_ps(float(k));
  const __m512bh u = (__m512bh)_mm512_set1_epi16(0x3f80), v = (__m512bh)_mm512_set1_epi16(0x3580);
  const double t0 = CpuSeconds();
  for (size_t i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) a[k] = _mm512_dpbf16_ps(a[k], u, v);
  const double t = CpuSeconds() - t0;
  if (LaneSum<__m512, float>(a) == 12345.0) std::puts("");
  return double(iters) * 12 * 32 / t * 1e-9;
}

void PrintPeaks(int repeats) {
  if (!__builtin_cpu_supports("avx512f")) {
    std::printf("core peaks: this CPU has no AVX-512\n");
    return;
  }
  std::vector<double> fma, vnni, bf16;
  for (int r = 0; r < repeats; ++r) {
    fma.push_back(FmaPeak(size_t(1) << 24));
    if (__builtin_cpu_supports("avx512vnni")) vnni.push_back(VnniPeak(size_t(1) << 24));
    if (__builtin_cpu_supports("avx512bf16")) bf16.push_back(Bf16Peak(size_t(1) << 24));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::printf("core peaks (one thread, CPU time, median of %d): FP32 FMA %.1f G MAC/s", repeats,
              median(fma));
  if (!vnni.empty()) std::printf(", int8 vpdpbusd %.1f G MAC/s", median(vnni));
  if (!bf16.empty()) std::printf(", bf16 vdpbf16ps %.1f G MAC/s", median(bf16));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::atoi(Arg(argc, argv, "-t", "2"));
  const int repeats = std::max(1, std::atoi(Arg(argc, argv, "-r", "7")));
  const size_t pool_bytes = std::strtoull(Arg(argc, argv, "--pool-mib", "768"), nullptr, 10) << 20;
  std::vector<DType> types;
  {
    std::stringstream ss(Arg(argc, argv, "--types", "f32,f16,q8_0,q4_0"));
    std::string item;
    while (std::getline(ss, item, ',')) {
      DType t;
      if (!ParseType(item, &t)) {
        std::fprintf(stderr, "unknown type '%s' (f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K)\n",
                     item.c_str());
        return 2;
      }
      types.push_back(t);
    }
  }
  std::vector<std::pair<size_t, size_t>> shapes;
  {
    std::stringstream ss(Arg(argc, argv, "--shapes", "2048x2048,8192x2048,2048x8192"));
    std::string item;
    while (std::getline(ss, item, ',')) {
      size_t r = 0, c = 0;
      if (std::sscanf(item.c_str(), "%zux%zu", &r, &c) != 2 || r == 0 || c == 0 || c % 32 != 0) {
        std::fprintf(stderr, "bad shape '%s' (ROWSxCOLS, cols a multiple of 32)\n", item.c_str());
        return 2;
      }
      shapes.emplace_back(r, c);
    }
  }
  bool cpu_time = false, peak = false;
  for (int i = 1; i < argc; ++i) {
    cpu_time |= !std::strcmp(argv[i], "--cpu-time");
    peak |= !std::strcmp(argv[i], "--peak");
  }
  if (peak) PrintPeaks(repeats);
  ThreadContext tc(threads);
  AlignedBuffer<uint8_t> pool;
  Stats read, other;
  bool read_prefetch = false;
  if (!MeasureReadBandwidth(pool_bytes, repeats, &tc, &pool, &read, &read_prefetch, &other))
    return 1;
  std::printf(
      "threads %d, pool %zu MiB; streaming read (%s, the faster): %.1f GB/s (median of %d, "
      "%.1f..%.1f); %s: %.1f\n",
      tc.num_threads(), pool_bytes >> 20, read_prefetch ? "prefetching" : "plain", read.median,
      repeats, read.min, read.max, read_prefetch ? "plain" : "prefetching", other.median);
  std::printf("%-7s %-11s %10s %8s %8s %9s %10s\n", "type", "shape", "us/matvec", "(best)", "GB/s",
              "of read", "GMAC/s");

  std::mt19937 rng(1234);
  const size_t tokens =
      std::max<size_t>(1, std::strtoull(Arg(argc, argv, "--tokens", "1"), nullptr, 10));
  if (tokens > 1) std::printf("MatMul with %zu tokens (GB/s: weight bytes per call)\n", tokens);
  const size_t passes =
      std::max<size_t>(1, std::strtoull(Arg(argc, argv, "--passes", "1"), nullptr, 10));
  std::vector<float> x, y;
  for (const auto& [rows, cols] : shapes) {
    x.resize(cols * tokens);
    y.resize(rows * tokens);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& v : x) v = u(rng);
    for (DType t : types) {
      const size_t bytes = rows * DTypeBytes(t, cols);
      const size_t count = std::max<size_t>(1, pool_bytes / bytes);
      if (pool.size() < bytes && !pool.Resize(bytes).ok()) {  // one matrix larger than the pool
        std::fprintf(stderr, "cannot allocate %zu bytes\n", bytes);
        return 1;
      }
      auto* base = static_cast<uint8_t*>(pool.data());
      for (size_t i = 0; i < count; ++i) FillMatrix(t, rows, cols, &rng, base + i * bytes);
      std::vector<double> per_call, of_read;
      static volatile uint64_t sink = 0;
      for (int rep = 0; rep < repeats; ++rep) {
        // The paired baseline: a streaming read of the same matrices just before this pass.
        const double read_gbs = ReadBandwidth(base, count * bytes, &tc, &sink, read_prefetch);
        const auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        for (size_t i = 0; i < count * passes; ++i) {
          TensorView w{t, base + (i % count) * bytes, rows, cols};
          if (tokens == 1)
            MatVec(w, x.data(), y.data(), &tc);
          else
            MatMul(w, x.data(), tokens, y.data(), &tc);
        }
        const double secs = cpu_time ? double(std::clock() - c0) / CLOCKS_PER_SEC : Seconds(t0);
        per_call.push_back(secs / double(count * passes));
        of_read.push_back(double(bytes) / per_call.back() / 1e9 / read_gbs);
      }
      const Stats s = Summarize(per_call);
      const double gbs = double(bytes) / s.median / 1e9;
      std::printf("%-7s %5zux%-5zu %10.1f %8.1f %8.1f %8.0f%% %10.1f\n", DTypeName(t), rows, cols,
                  s.median * 1e6, s.min * 1e6, gbs, 100.0 * Summarize(of_read).median,
                  double(rows * cols * tokens) / s.median / 1e9);
    }
  }
  return !y.empty() && y[0] == 0.5f ? 3 : 0;  // keeps the results observable
}
