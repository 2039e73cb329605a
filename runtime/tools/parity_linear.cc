// The linear-attention cases of `floe parity ops`: RWKV-6 WKV, Lightning (TransNormerLLM) and
// Mamba's selective scan. References: the recurrences of the papers, written here in double
// (WKV, Lightning) and attention/linear's SelectiveScanReference; the CPU side runs the chunked
// forms the models use (Wkv6Chunk, LightningChunk) and the vector scan.
#include <cmath>
#include <memory>

#include "attention/linear/lightning_attention.h"
#include "attention/linear/selective_scan.h"
#include "attention/linear/wkv6.h"
#include "runtime/tools/parity_cases.h"

namespace floe::parity {

namespace {

std::vector<Case> Wkv6Cases(uint64_t seed) {
  struct S {
    size_t heads, n, tokens;
  };
  const std::vector<S> shapes = {{1, 4, 1}, {2, 64, 16}, {1, 64, 100}, {3, 32, 7}};
  std::vector<Case> cases;
  Rng rng(seed);
  for (const S& s : shapes) {
    const size_t C = s.heads * s.n, rows = s.tokens * C, st = s.heads * s.n * s.n;
    auto r = std::make_shared<std::vector<float>>(rng.Floats(rows));
    auto k = std::make_shared<std::vector<float>>(rng.Floats(rows));
    auto v = std::make_shared<std::vector<float>>(rng.Floats(rows));
    // Log decays -exp(decay) for decay in [-6, 1]: per-token decays from 0.07 to ~1.
    auto lw = std::make_shared<std::vector<float>>(rng.Floats(rows, -6.0f, 1.0f));
    for (float& x : *lw) x = -std::exp(x);
    auto u = std::make_shared<std::vector<float>>(rng.Floats(C));
    auto s_in = std::make_shared<std::vector<float>>(rng.Floats(st, -0.5f, 0.5f));
    Case c;
    c.op = "wkv6";
    c.shape = Shape({{"heads", s.heads}, {"head_size", s.n}, {"tokens", s.tokens}});
    // Outputs: y, then the final state.
    c.reference = [=] {
      Outputs out(rows + st);
      std::vector<double> S(s.n * s.n);
      for (size_t h = 0; h < s.heads; ++h) {
        for (size_t i = 0; i < s.n * s.n; ++i) S[i] = (*s_in)[h * s.n * s.n + i];
        for (size_t t = 0; t < s.tokens; ++t) {
          const size_t o = t * C + h * s.n;
          for (size_t j = 0; j < s.n; ++j) {
            double y = 0;
            for (size_t i = 0; i < s.n; ++i)
              y += double((*r)[o + i]) *
                   (S[i * s.n + j] + double((*u)[h * s.n + i]) * (*k)[o + i] * (*v)[o + j]);
            out[o + j] = float(y);
          }
          for (size_t i = 0; i < s.n; ++i)
            for (size_t j = 0; j < s.n; ++j)
              S[i * s.n + j] = std::exp(double((*lw)[o + i])) * S[i * s.n + j] +
                               double((*k)[o + i]) * (*v)[o + j];
        }
        for (size_t i = 0; i < s.n * s.n; ++i) out[rows + h * s.n * s.n + i] = float(S[i]);
      }
      return out;
    };
    c.cpu = [=] {
      Outputs out(rows + st);
      std::vector<float> scratch(Wkv6ChunkScratch(s.tokens, s.n));
      for (size_t h = 0; h < s.heads; ++h) {
        Wkv6Head a;
        a.n = s.n;
        a.stride = C;
        a.r = r->data() + h * s.n, a.k = k->data() + h * s.n, a.v = v->data() + h * s.n;
        a.lw = lw->data() + h * s.n, a.u = u->data() + h * s.n;
        a.s_in = s_in->data() + h * s.n * s.n;
        a.s_out = out.data() + rows + h * s.n * s.n;
        a.y = out.data() + h * s.n;
        Wkv6Chunk(a, s.tokens, scratch.data());
      }
      return out;
    };
    c.backend = [=](const GpuBackend& b) {
      Outputs out(rows + st);
      floe_gpu_wkv6_args a{s.heads,   s.n,          s.tokens,          r->data(), k->data(),
                           v->data(), lw->data(),   u->data(),         s_in->data(),
                           out.data() + rows,       out.data()};
      return Done(b, b.table().wkv6(&a), "wkv6", std::move(out));
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<Case> LightningCases(uint64_t seed) {
  struct S {
    size_t heads, dk, dv, tokens;
  };
  // 300 tokens: LightningChunk splits them into blocks of at most 256.
  const std::vector<S> shapes = {{1, 8, 8, 1}, {2, 64, 64, 32}, {1, 32, 48, 300}, {4, 16, 16, 5}};
  std::vector<Case> cases;
  Rng rng(seed);
  for (const S& s : shapes) {
    const size_t ck = s.heads * s.dk, cv = s.heads * s.dv, st = s.heads * s.dk * s.dv;
    auto q = std::make_shared<std::vector<float>>(rng.Floats(s.tokens * ck, -0.5f, 0.5f));
    auto k = std::make_shared<std::vector<float>>(rng.Floats(s.tokens * ck, -0.5f, 0.5f));
    auto v = std::make_shared<std::vector<float>>(rng.Floats(s.tokens * cv, -0.5f, 0.5f));
    auto decay = std::make_shared<std::vector<float>>(rng.Floats(s.heads, -0.5f, -0.01f));
    auto s_in = std::make_shared<std::vector<float>>(rng.Floats(st, -0.5f, 0.5f));
    const size_t rows = s.tokens * cv;
    Case c;
    c.op = "lightning";
    c.shape = Shape({{"heads", s.heads}, {"dk", s.dk}, {"dv", s.dv}, {"tokens", s.tokens}});
    c.reference = [=] {
      Outputs out(rows + st);
      std::vector<double> S(s.dk * s.dv);
      for (size_t h = 0; h < s.heads; ++h) {
        const double lambda = std::exp(double((*decay)[h]));
        for (size_t i = 0; i < s.dk * s.dv; ++i) S[i] = (*s_in)[h * s.dk * s.dv + i];
        for (size_t t = 0; t < s.tokens; ++t) {
          const float* qt = q->data() + t * ck + h * s.dk;
          const float* kt = k->data() + t * ck + h * s.dk;
          const float* vt = v->data() + t * cv + h * s.dv;
          for (size_t i = 0; i < s.dk; ++i)
            for (size_t j = 0; j < s.dv; ++j)
              S[i * s.dv + j] = lambda * S[i * s.dv + j] + double(kt[i]) * vt[j];
          for (size_t j = 0; j < s.dv; ++j) {
            double o = 0;
            for (size_t i = 0; i < s.dk; ++i) o += double(qt[i]) * S[i * s.dv + j];
            out[t * cv + h * s.dv + j] = float(o);
          }
        }
        for (size_t i = 0; i < s.dk * s.dv; ++i) out[rows + h * s.dk * s.dv + i] = float(S[i]);
      }
      return out;
    };
    c.cpu = [=] {
      Outputs out(rows + st);
      std::vector<float> scratch(LightningChunkScratch(s.tokens, s.dk, s.dv));
      for (size_t h = 0; h < s.heads; ++h) {
        LightningHead a;
        a.dk = s.dk, a.dv = s.dv;
        a.q = q->data() + h * s.dk, a.k = k->data() + h * s.dk, a.v = v->data() + h * s.dv;
        a.o = out.data() + h * s.dv;
        a.q_stride = ck, a.k_stride = ck, a.v_stride = cv, a.o_stride = cv;
        a.log_decay = (*decay)[h];
        a.s_in = s_in->data() + h * s.dk * s.dv;
        a.s_out = out.data() + rows + h * s.dk * s.dv;
        LightningChunk(a, s.tokens, scratch.data());
      }
      return out;
    };
    c.backend = [=](const GpuBackend& b) {
      Outputs out(rows + st);
      floe_gpu_lightning_args a{s.heads,       s.dk,         s.dv,       s.tokens,
                                q->data(),     k->data(),    v->data(),  decay->data(),
                                s_in->data(),  out.data() + rows,        out.data()};
      return Done(b, b.table().lightning(&a), "lightning", std::move(out));
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<Case> ScanCases(uint64_t seed) {
  struct S {
    size_t d_inner, d_state, tokens;
    bool gated_skip;
  };
  const std::vector<S> shapes = {{8, 16, 1, true}, {64, 16, 33, true}, {33, 4, 10, false}, {256, 16, 8, true}};
  std::vector<Case> cases;
  Rng rng(seed);
  for (const S& s : shapes) {
    const size_t nd = s.tokens * s.d_inner, nb = s.tokens * s.d_state, st = s.d_state * s.d_inner;
    auto u = std::make_shared<std::vector<float>>(rng.Floats(nd));
    auto delta = std::make_shared<std::vector<float>>(rng.Floats(nd, -1.0f, 1.0f));
    for (float& x : *delta) x = std::log1p(std::exp(x));  // softplus, as the model applies it
    auto B = std::make_shared<std::vector<float>>(rng.Floats(nb));
    auto C = std::make_shared<std::vector<float>>(rng.Floats(nb));
    auto z = std::make_shared<std::vector<float>>(rng.Floats(nd, -3.0f, 3.0f));
    auto A = std::make_shared<std::vector<float>>(rng.Floats(st, -1.0f, 1.5f));
    for (float& x : *A) x = -std::exp(x);
    auto D = std::make_shared<std::vector<float>>(rng.Floats(s.d_inner));
    auto state = std::make_shared<std::vector<float>>(rng.Floats(st, -0.5f, 0.5f));
    Case c;
    c.op = "selective_scan";
    c.shape = Shape({{"d_inner", s.d_inner}, {"d_state", s.d_state}, {"tokens", s.tokens},
                     {"gate_skip", s.gated_skip}});
    // kind 0: the reference, 1: the vector kernel. Outputs: y, then the state.
    auto run = [=](int kind) {
      Outputs out(nd + st);
      std::copy(state->begin(), state->end(), out.begin() + nd);
      SelectiveScanArgs a;
      a.d_inner = s.d_inner, a.d_state = s.d_state;
      a.u = u->data(), a.u_stride = s.d_inner;
      a.delta = delta->data(), a.delta_stride = s.d_inner;
      a.B = B->data(), a.C = C->data(), a.bc_stride = s.d_state;
      a.z = s.gated_skip ? z->data() : nullptr, a.z_stride = s.d_inner;
      a.A = A->data(), a.D = s.gated_skip ? D->data() : nullptr;
      a.state = out.data() + nd;
      a.y = out.data(), a.y_stride = s.d_inner;
      kind ? SelectiveScan(a, s.tokens, 0, s.d_inner)
           : SelectiveScanReference(a, s.tokens, 0, s.d_inner);
      return out;
    };
    c.reference = [=] { return run(0); };
    c.cpu = [=] { return run(1); };
    c.backend = [=](const GpuBackend& b) {
      Outputs out(nd + st);
      std::copy(state->begin(), state->end(), out.begin() + nd);
      floe_gpu_scan_args a{s.d_inner, s.d_state, s.tokens, u->data(), delta->data(), B->data(),
                           C->data(), s.gated_skip ? z->data() : nullptr, A->data(),
                           s.gated_skip ? D->data() : nullptr, out.data() + nd, out.data()};
      return Done(b, b.table().selective_scan(&a), "selective_scan", std::move(out));
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

std::vector<Case> LinearAttentionCases(const std::string& op, uint64_t seed) {
  if (op == "wkv6") return Wkv6Cases(seed);
  if (op == "lightning") return LightningCases(seed);
  if (op == "selective_scan") return ScanCases(seed);
  return {};
}

}  // namespace floe::parity
