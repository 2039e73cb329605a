#include "runtime/tools/parity_cases.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "attention/dense/dense_attention.h"
#include "attention/dense/kv_cache.h"
#include "attention/linear/lightning_attention.h"
#include "attention/linear/selective_scan.h"
#include "attention/linear/wkv6.h"
#include "platform/base/dtype.h"
#include "platform/kernels/layer_norm.h"
#include "platform/kernels/ops.h"
#include "platform/kernels/reference.h"
#include "platform/quant/quant.h"

namespace floe::parity {

namespace {

// --- matmul ---

// Random weights of type t: floats encoded (F32/F16/BF16, Q8_0/Q4_0 with llama.cpp's reference
// quantizer), or random Q5_0 / K-quant blocks with small scales (every bit pattern of their
// codes and packed sub-block scales is a valid block).
std::vector<uint8_t> RandomWeights(DType t, size_t rows, size_t cols, Rng& rng) {
  const std::vector<float> f = rng.Floats(rows * cols);
  std::vector<uint8_t> w(rows * DTypeBytes(t, cols));
  switch (t) {
    case DType::kF32:
      std::memcpy(w.data(), f.data(), w.size());
      break;
    case DType::kF16:
    case DType::kBF16:
      for (size_t i = 0; i < f.size(); ++i) {
        const uint16_t h = t == DType::kF16 ? F32ToF16(f[i]) : F32ToBF16(f[i]);
        std::memcpy(w.data() + 2 * i, &h, 2);
      }
      break;
    case DType::kQ8_0:
      QuantizeRowQ8_0(f.data(), f.size(), reinterpret_cast<BlockQ8_0*>(w.data()));
      break;
    case DType::kQ4_0:
      QuantizeRowQ4_0(f.data(), f.size(), reinterpret_cast<BlockQ4_0*>(w.data()));
      break;
    default: {  // Q5_0 and the K-quants: random codes, small scales
      for (uint8_t& b : w) b = rng.Byte();
      const size_t n_blocks = rows * cols / DTypeBlockElems(t);
      const std::vector<float> sc = rng.Floats(2 * n_blocks, 0.2f, 1.0f);
      for (size_t i = 0; i < n_blocks; ++i) {
        uint8_t* blk = w.data() + i * DTypeBlockBytes(t);
        const uint16_t d = F32ToF16(sc[2 * i] / 32), dmin = F32ToF16(sc[2 * i + 1] / 64);
        if (t == DType::kQ5_0) {
          reinterpret_cast<BlockQ5_0*>(blk)->d = d;
        } else if (t == DType::kQ2_K) {
          reinterpret_cast<BlockQ2_K*>(blk)->d = d, reinterpret_cast<BlockQ2_K*>(blk)->dmin = dmin;
        } else if (t == DType::kQ3_K) {
          reinterpret_cast<BlockQ3_K*>(blk)->d = F32ToF16(sc[2 * i] / 128);
        } else if (t == DType::kQ4_K) {
          reinterpret_cast<BlockQ4_K*>(blk)->d = F32ToF16(sc[2 * i] / 512);
          reinterpret_cast<BlockQ4_K*>(blk)->dmin = F32ToF16(sc[2 * i + 1] / 512);
        } else if (t == DType::kQ6_K) {
          reinterpret_cast<BlockQ6_K*>(blk)->d = F32ToF16(sc[2 * i] / 4096);
        }
      }
      break;
    }
  }
  return w;
}

std::vector<Case> MatMulCases(DType t, uint64_t seed) {
  struct S {
    size_t rows, cols, tokens;
  };
  // K-quants need columns in blocks of 256. At most 16 tokens: MatMul then quantizes the
  // activations on every target, the arithmetic the reference and the backend use.
  const bool k = DTypeBlockElems(t) == 256;
  const std::vector<S> shapes =
      k ? std::vector<S>{{1, 256, 1}, {64, 256, 1}, {67, 512, 7}, {128, 2048, 1}, {96, 1024, 16}}
        : std::vector<S>{{1, 32, 1}, {64, 256, 1}, {67, 96, 7}, {128, 2048, 1}, {96, 1024, 16}};
  std::vector<Case> cases;
  Rng rng(seed);
  for (const S& s : shapes) {
    auto w = std::make_shared<std::vector<uint8_t>>(RandomWeights(t, s.rows, s.cols, rng));
    auto x = std::make_shared<std::vector<float>>(rng.Floats(s.tokens * s.cols));
    const TensorView view{t, w->data(), s.rows, s.cols};
    Case c;
    c.op = std::string("matmul_") + DTypeName(t);
    c.shape = Shape({{"rows", s.rows}, {"cols", s.cols}, {"tokens", s.tokens}});
    c.reference = [=] {
      Outputs y(s.tokens * s.rows);
      if (!IsQuantized(t)) {
        reference::MatMul(view, x->data(), s.tokens, y.data());
        return y;
      }
      std::vector<float> storage(QuantizedActivationsFloats(s.cols));
      for (size_t tok = 0; tok < s.tokens; ++tok) {
        const QuantizedActivations qa = QuantizeActivations(
            x->data() + tok * s.cols, s.cols, storage.data(), ActivationQuantOf(t));
        for (size_t r = 0; r < s.rows; ++r)
          y[tok * s.rows + r] = QuantizedRowDotReference(t, view.row(r), qa);
      }
      return y;
    };
    c.cpu = [=] {
      Outputs y(s.tokens * s.rows);
      MatMul(view, x->data(), s.tokens, y.data(), nullptr);
      return y;
    };
    c.backend = [=](const GpuBackend& b) {
      Outputs y(s.tokens * s.rows);
      const int rc = b.table().matmul(uint32_t(t), w->data(), s.rows, s.cols, x->data(),
                                      s.tokens, y.data());
      return Done(b, rc, "matmul", std::move(y));
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

// --- row ops: rms_norm, layer_norm, softmax ---

std::vector<Case> RowCases(const std::string& op, uint64_t seed) {
  const std::vector<std::pair<size_t, size_t>> shapes = {{1, 1}, {1, 7}, {3, 288}, {4, 4096}, {2, 32000}};
  std::vector<Case> cases;
  Rng rng(seed);
  const float eps = 1e-5f;
  for (const auto& shape : shapes) {
    // Plain copies, not structured bindings: the lambda below captures them, which clang
    // before 16 (the fuzz build's clang-14) refuses.
    const size_t rows = shape.first, n = shape.second;
    auto x = std::make_shared<std::vector<float>>(rng.Floats(rows * n, -4.0f, 4.0f));
    auto w = std::make_shared<std::vector<float>>(rng.Floats(n));
    auto bias = std::make_shared<std::vector<float>>(rng.Floats(n));
    Case c;
    c.op = op;
    c.shape = Shape({{"rows", rows}, {"n", n}});
    // kind 0: the reference, 1: floe's kernel.
    auto run = [=](int kind) {
      Outputs y = *x;
      for (size_t r = 0; r < rows; ++r) {
        float* row = y.data() + r * n;
        if (op == "rms_norm")
          kind ? RmsNorm(row, w->data(), n, eps, row)
               : reference::RmsNorm(row, w->data(), n, eps, row);
        else if (op == "layer_norm")
          kind ? LayerNorm(row, w->data(), bias->data(), n, eps, row)
               : reference::LayerNorm(row, w->data(), bias->data(), n, eps, row);
        else
          kind ? Softmax(row, n) : reference::Softmax(row, n);
      }
      return y;
    };
    c.reference = [=] { return run(0); };
    c.cpu = [=] { return run(1); };
    c.backend = [=](const GpuBackend& b) {
      Outputs y(rows * n);
      int rc;
      if (op == "rms_norm")
        rc = b.table().rms_norm(x->data(), w->data(), rows, n, eps, y.data());
      else if (op == "layer_norm")
        rc = b.table().layer_norm(x->data(), w->data(), bias->data(), rows, n, eps, y.data());
      else
        rc = (y = *x, b.table().softmax(y.data(), rows, n));
      return Done(b, rc, op.c_str(), std::move(y));
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

// --- rope ---

std::vector<Case> RopeCases(bool neox, uint64_t seed) {
  struct S {
    size_t tokens, heads, head_dim, rot_dim, first_pos;
    float base;
  };
  const std::vector<S> shapes = {{1, 1, 2, 2, 0, 10000.0f},
                                 {3, 8, 64, 64, 5, 10000.0f},
                                 {2, 4, 128, 64, 4000, 500000.0f},
                                 {4, 6, 80, 32, 123, 10000.0f}};
  std::vector<Case> cases;
  Rng rng(seed);
  for (const S& s : shapes) {
    auto x = std::make_shared<std::vector<float>>(rng.Floats(s.tokens * s.heads * s.head_dim));
    Case c;
    c.op = neox ? "rope_neox" : "rope_norm";
    c.shape = Shape({{"tokens", s.tokens}, {"heads", s.heads}, {"head_dim", s.head_dim},
                     {"rot_dim", s.rot_dim}, {"pos", s.first_pos}});
    auto run = [=](int kind) {
      Outputs y = *x;
      for (size_t t = 0; t < s.tokens; ++t) {
        float* row = y.data() + t * s.heads * s.head_dim;
        const size_t pos = s.first_pos + t;
        if (neox)
          kind ? RopeHalfSplit(row, s.heads, s.head_dim, s.rot_dim, pos, s.base)
               : reference::RopeHalfSplit(row, s.heads, s.head_dim, s.rot_dim, pos, s.base);
        else
          kind ? RopeInterleaved(row, s.heads, s.head_dim, s.rot_dim, pos, s.base)
               : reference::RopeInterleaved(row, s.heads, s.head_dim, s.rot_dim, pos, s.base);
      }
      return y;
    };
    c.reference = [=] { return run(0); };
    c.cpu = [=] { return run(1); };
    c.backend = [=](const GpuBackend& b) {
      Outputs y = *x;
      const int rc = b.table().rope(y.data(), s.tokens, s.heads, s.head_dim, s.rot_dim,
                                    s.first_pos, s.base, neox ? 1 : 0);
      return Done(b, rc, "rope", std::move(y));
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

// --- dense attention over a KV cache ---

std::vector<Case> AttentionCases(DType kv, uint64_t seed) {
  struct S {
    size_t tokens, heads, kv_heads, head_dim, first_pos;
  };
  const std::vector<S> shapes = {
      {1, 1, 1, 8, 0}, {1, 8, 2, 64, 100}, {5, 4, 4, 48, 10}, {3, 6, 2, 128, 600}, {16, 8, 1, 64, 40}};
  std::vector<Case> cases;
  Rng rng(seed);
  for (const S& s : shapes) {
    const size_t n_keys = s.first_pos + s.tokens, kv_dim = s.kv_heads * s.head_dim;
    auto q = std::make_shared<std::vector<float>>(rng.Floats(s.tokens * s.heads * s.head_dim));
    auto k = std::make_shared<std::vector<float>>(rng.Floats(n_keys * kv_dim));
    auto v = std::make_shared<std::vector<float>>(rng.Floats(n_keys * kv_dim));
    // F16 caches: every path sees the same rounded values.
    auto k16 = std::make_shared<std::vector<uint16_t>>(k->size());
    auto v16 = std::make_shared<std::vector<uint16_t>>(v->size());
    if (kv == DType::kF16) {
      for (size_t i = 0; i < k->size(); ++i) {
        (*k16)[i] = F32ToF16((*k)[i]), (*k)[i] = F16ToF32((*k16)[i]);
        (*v16)[i] = F32ToF16((*v)[i]), (*v)[i] = F16ToF32((*v16)[i]);
      }
    }
    const float scale = 1.0f / std::sqrt(float(s.head_dim));
    Case c;
    c.op = std::string("attention_") + DTypeName(kv);
    c.shape = Shape({{"tokens", s.tokens}, {"heads", s.heads}, {"kv_heads", s.kv_heads},
                     {"head_dim", s.head_dim}, {"pos", s.first_pos}});
    c.reference = [=] {
      Outputs out(q->size());
      const size_t group = s.heads / s.kv_heads, hd = s.head_dim;
      for (size_t t = 0; t < s.tokens; ++t)
        for (size_t h = 0; h < s.heads; ++h) {
          const float* qh = q->data() + (t * s.heads + h) * hd;
          const size_t g = h / group, n = s.first_pos + t + 1;
          std::vector<double> p(n);
          double max = -INFINITY, sum = 0;
          for (size_t j = 0; j < n; ++j) {
            double dot = 0;
            for (size_t e = 0; e < hd; ++e) dot += double(qh[e]) * (*k)[(j * s.kv_heads + g) * hd + e];
            p[j] = dot * scale;
            max = std::max(max, p[j]);
          }
          for (double& x : p) sum += (x = std::exp(x - max));
          for (size_t e = 0; e < hd; ++e) {
            double acc = 0;
            for (size_t j = 0; j < n; ++j) acc += p[j] * (*v)[(j * s.kv_heads + g) * hd + e];
            out[(t * s.heads + h) * hd + e] = float(acc / sum);
          }
        }
      return out;
    };
    c.cpu = [=] {
      Outputs out(q->size());
      KvCache cache;
      if (!cache.Init(1, s.kv_heads, s.head_dim, n_keys, kv).ok()) return Outputs{};
      for (size_t j = 0; j < n_keys; ++j)
        cache.Store(0, j, k->data() + j * kv_dim, v->data() + j * kv_dim);
      DenseAttentionArgs a;
      a.cache = &cache;
      a.n_heads = s.heads;
      a.n_tokens = s.tokens;
      a.first_pos = s.first_pos;
      a.q = q->data();
      a.out = out.data();
      DenseAttention(a, nullptr);
      return out;
    };
    c.backend = [=](const GpuBackend& b) {
      Outputs out(q->size());
      floe_gpu_attention_args a{s.tokens, s.heads, s.kv_heads, s.head_dim, n_keys, s.first_pos,
                                uint32_t(kv), scale, q->data(), nullptr, nullptr, out.data()};
      a.k = kv == DType::kF16 ? static_cast<const void*>(k16->data()) : k->data();
      a.v = kv == DType::kF16 ? static_cast<const void*>(v16->data()) : v->data();
      return Done(b, b.table().attention(&a), "attention", std::move(out));
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

std::vector<Case> CasesOf(const std::string& name, uint64_t seed) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                  DType::kQ5_0, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ6_K})
    if (name == std::string("matmul_") + DTypeName(t)) return MatMulCases(t, seed);
  if (name == "rms_norm" || name == "layer_norm" || name == "softmax") return RowCases(name, seed);
  if (name == "rope_norm" || name == "rope_neox") return RopeCases(name == "rope_neox", seed);
  if (name == "attention_f32") return AttentionCases(DType::kF32, seed);
  if (name == "attention_f16") return AttentionCases(DType::kF16, seed);
  return LinearAttentionCases(name, seed);
}

}  // namespace floe::parity
