// RoPE scaling (platform/kernels/rope_scaling.h, models/llama/llama3_rope_factors.h) against the
// independent double-precision reference of rope_reference.h (the published definitions of
// linear, YaRN and llama3 scaling). The rotated q/k of floe's kernels, on every compiled Highway target, must equal the reference
// to float rounding.
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "kernel_targets_util.h"
#include "rope_reference.h"
#include "models/llama/llama3_rope_factors.h"
#include "platform/kernels/ops.h"
#include "platform/kernels/reference.h"
#include "platform/kernels/rope_scaling.h"

using namespace floe;
using floe::testing::ReferenceFreqs;
using floe::testing::Scaling;

namespace {

// What the model config derives from the same scaling (rope_scaling.h's parameters).
RopeScaling FloeScaling(const Scaling& s, size_t dim, float base) {
  RopeScaling r;
  r.freq_scale = float(1.0 / s.factor);
  r.ext_factor = s.yarn ? 1.0f : 0.0f;
  r.attn_factor = float(s.attn);
  r.original_context = s.orig_ctx;
  if (s.llama3) {
    auto f = Llama3RopeFactors(dim, base, float(s.factor), float(s.low), float(s.high), s.orig_ctx);
    REQUIRE(f.ok());
    r.freq_factors = *f;
    r.freq_scale = 1.0f;  // llama3 files carry no scaling keys
  }
  return r;
}

const Scaling kScalings[] = {
    {"none"},
    {"linear x4", 4.0},
    {"linear x2.5, attn 1.3", 2.5, false, 0, 1.3},
    {"yarn x4, orig 32", 4.0, true, 32},
    {"yarn x8, orig 4096", 8.0, true, 4096},
    {"yarn x4, orig 32, attn 0.8", 4.0, true, 32, 0.8},
    {"llama3 x8, orig 32", 8.0, false, 32, 1.0, true},
    {"llama3 x8, orig 8192, low 1 high 4", 8.0, false, 8192, 1.0, true},
    {"llama3 x32, orig 64, low 2 high 8", 32.0, false, 64, 1.0, true, 2.0, 8.0},
};

}  // namespace

TEST_CASE("scaled RoPE frequencies equal the published definitions", "[unit]") {
  for (const Scaling& s : kScalings) {
    for (size_t dim : {size_t(32), size_t(64), size_t(128)}) {
      for (float base : {10000.0f, 500000.0f}) {
        INFO(s.name << ", rot dim " << dim << ", base " << base);
        std::vector<double> ref;
        double mscale;
        ReferenceFreqs(s, dim, base, &ref, &mscale);
        const RopeFrequencies f(dim, base, FloeScaling(s, dim, base));
        REQUIRE(f.pairs() == dim / 2);
        CHECK(std::fabs(f.mscale() - mscale) <= 1e-6 * mscale);
        size_t bad = 0;
        for (size_t i = 0; i < dim / 2; ++i) {
          // llama3's factors are float32 (as the converter stores them): relative 1e-6.
          if (std::fabs(f.freq(i) - ref[i]) > 1e-6 * ref[i]) {
            ++bad;
            UNSCOPED_INFO("pair " << i << ": " << f.freq(i) << " vs " << ref[i]);
          }
        }
        CHECK(bad == 0);
      }
    }
  }
}

TEST_CASE("scaled RoPE rotates q and k as the double reference on every target", "[unit]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Shape {
    size_t heads, head_dim, rot_dim;
  };
  for (const Scaling& s : kScalings) {
    for (Shape sh : {Shape{4, 32, 32}, Shape{2, 128, 64}, Shape{3, 80, 80}}) {
      const float base = 10000.0f;
      std::vector<double> inv_freq;
      double mscale;
      ReferenceFreqs(s, sh.rot_dim, base, &inv_freq, &mscale);
      const RopeFrequencies f(sh.rot_dim, base, FloeScaling(s, sh.rot_dim, base));
      for (size_t pos : {size_t(0), size_t(1), size_t(31), size_t(95), size_t(4097),
                         size_t(131071)}) {
        INFO(s.name << ", heads " << sh.heads << " x " << sh.head_dim << ", rot " << sh.rot_dim
                    << ", pos " << pos);
        std::vector<float> x(sh.heads * sh.head_dim);
        for (float& v : x) v = u(rng);
        std::vector<float> cs(sh.rot_dim / 2), sn(sh.rot_dim / 2);
        f.CosSin(pos, cs.data(), sn.data());
        for (bool neox : {false, true}) {
          INFO((neox ? "half-split (qwen2)" : "interleaved (llama)"));
          // The reference rotation of the published formula, in double.
          std::vector<double> want(x.begin(), x.end());
          for (size_t h = 0; h < sh.heads; ++h)
            for (size_t i = 0; i < sh.rot_dim / 2; ++i) {
              const size_t a = h * sh.head_dim + (neox ? i : 2 * i);
              const size_t b = h * sh.head_dim + (neox ? i + sh.rot_dim / 2 : 2 * i + 1);
              const double ang = double(pos) * inv_freq[i];
              want[a] = mscale * (double(x[a]) * std::cos(ang) - double(x[b]) * std::sin(ang));
              want[b] = mscale * (double(x[a]) * std::sin(ang) + double(x[b]) * std::cos(ang));
            }
          // Angle error of float frequencies at position p: p * |freq| * 1e-6 (relative
          // frequency bound above) plus float rounding of cos, sin and the products.
          auto check = [&](const std::vector<float>& got) {
            size_t bad = 0;
            for (size_t h = 0; h < sh.heads; ++h)
              for (size_t i = 0; i < sh.rot_dim / 2; ++i) {
                const size_t a = h * sh.head_dim + (neox ? i : 2 * i);
                const size_t b = h * sh.head_dim + (neox ? i + sh.rot_dim / 2 : 2 * i + 1);
                const double mag = mscale * (std::fabs(x[a]) + std::fabs(x[b]));
                const double tol = mag * (8 * FLT_EPSILON + double(pos) * inv_freq[i] * 2e-6);
                if (std::fabs(got[a] - want[a]) > tol || std::fabs(got[b] - want[b]) > tol) ++bad;
              }
            for (size_t h = 0; h < sh.heads; ++h)
              for (size_t d = sh.rot_dim; d < sh.head_dim; ++d)
                if (got[h * sh.head_dim + d] != x[h * sh.head_dim + d]) ++bad;
            CHECK(bad == 0);
          };
          std::vector<float> ref_out = x;
          (neox ? reference::RopeHalfSplitCosSin : reference::RopeInterleavedCosSin)(
              ref_out.data(), sh.heads, sh.head_dim, sh.rot_dim, cs.data(), sn.data());
          check(ref_out);
          ForEachTarget([&] {
            std::vector<float> got = x;
            (neox ? RopeHalfSplitCosSin : RopeInterleavedCosSin)(
                got.data(), sh.heads, sh.head_dim, sh.rot_dim, cs.data(), sn.data());
            check(got);
          });
        }
      }
    }
  }
}

TEST_CASE("llama3 rope factors match transformers' definition and refuse bad input", "[unit]") {
  // factor / (the smoothed inverse frequency's ratio) == the converter's rope_freqs.
  for (const Scaling& s : kScalings) {
    if (!s.llama3) continue;
    INFO(s.name);
    const size_t dim = 128;
    auto f = Llama3RopeFactors(dim, 500000.0f, float(s.factor), float(s.low), float(s.high),
                               s.orig_ctx);
    REQUIRE(f.ok());
    REQUIRE(f->size() == dim / 2);
    std::vector<double> inv;
    double mscale;
    ReferenceFreqs(s, dim, 500000.0, &inv, &mscale);
    size_t at_one = 0, at_factor = 0, between = 0;
    for (size_t i = 0; i < dim / 2; ++i) {
      const double plain = 1.0 / std::pow(500000.0, double(2 * i) / dim);
      const double want = plain / inv[i];
      CHECK(std::fabs((*f)[i] - want) <= 1e-5 * want);
      at_one += want == 1.0;
      at_factor += want == s.factor;
      between += want > 1.0 && want < s.factor;
    }
    // Every region of the definition is exercised.
    CHECK(at_one > 0);
    CHECK(at_factor > 0);
    CHECK(between > 0);
  }
  CHECK(Llama3RopeFactors(31, 10000.0f, 8.0f, 1.0f, 4.0f, 8192).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(Llama3RopeFactors(32, 10000.0f, 0.0f, 1.0f, 4.0f, 8192).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(Llama3RopeFactors(32, 10000.0f, 8.0f, 2.0f, 2.0f, 8192).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(Llama3RopeFactors(32, 10000.0f, 8.0f, 1.0f, 4.0f, 0).status().code() ==
        StatusCode::kInvalidArgument);
}
