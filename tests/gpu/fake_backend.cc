// A CPU stand-in for libfloe_cuda.so: the same C ABI (platform/gpu/backend_abi.h), loaded by
// the same dlopen path, running the CUDA module's per-thread arithmetic (platform/gpu/op_math.h)
// in plain loops. It lets the tests check the parity harness and that arithmetic without a GPU.
// Test hooks (environment):
//   FLOE_FAKE_GPU_PERTURB=OP   scales every output of op OP (matmul, rms_norm, layer_norm,
//                              softmax, rope, attention, wkv6, lightning, selective_scan) by
//                              1 + 1e-3: a slightly wrong kernel the harness must catch;
//   FLOE_FAKE_GPU_NO_DEVICE=1  init() fails as a machine without a GPU does.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "platform/gpu/op_math.h"

namespace {

using namespace floe::gpu;

thread_local std::string g_error;

bool Perturbed(const char* op) {
  const char* p = std::getenv("FLOE_FAKE_GPU_PERTURB");
  return p && std::strcmp(p, op) == 0;
}
void Perturb(const char* op, float* y, size_t n) {
  if (!Perturbed(op)) return;
  for (size_t i = 0; i < n; ++i) y[i] *= 1.001f;
}

int Init() {
  const char* e = std::getenv("FLOE_FAKE_GPU_NO_DEVICE");
  if (e && *e == '1') {
    g_error = "no CUDA-capable device is detected (fake: FLOE_FAKE_GPU_NO_DEVICE=1)";
    return 1;
  }
  return 0;
}
const char* LastError() { return g_error.c_str(); }
const char* DeviceName() { return "CPU (fake backend for tests)"; }

int MatMul(uint32_t dtype, const void* w, size_t rows, size_t cols, const float* x,
           size_t n_tokens, float* y) {
  const size_t rb = RowBytes(dtype, cols), blk = BlockElems(dtype);
  if (rb == 0 || cols % blk != 0) {
    g_error = "matmul: unsupported dtype " + std::to_string(dtype) + " or cols " +
              std::to_string(cols);
    return 1;
  }
  const auto* wb = static_cast<const uint8_t*>(w);
  std::vector<int8_t> q(cols);
  std::vector<float> d(cols / 32 + 1);
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xt = x + t * cols;
    if (IsQuantizedType(dtype)) {
      for (size_t b = 0; b < cols / blk; ++b) {
        if (blk == 32)
          QuantizeBlockQ8_0(xt + 32 * b, q.data() + 32 * b, d.data() + b);
        else
          QuantizeBlockQ8_K(xt + 256 * b, q.data() + 256 * b, d.data() + 8 * b);
      }
    }
    for (size_t r = 0; r < rows; ++r) {
      float acc = 0.0f;
      if (IsQuantizedType(dtype)) {
        for (size_t u = 0; u < cols / 32; ++u)
          acc += QuantDot32(dtype, wb + r * rb, u, q.data(), d.data());
      } else {
        for (size_t c = 0; c < cols; ++c) acc += WeightElem(dtype, wb + r * rb, c) * xt[c];
      }
      y[t * rows + r] = acc;
    }
  }
  Perturb("matmul", y, rows * n_tokens);
  return 0;
}

int RmsNorm(const float* x, const float* w, size_t n_rows, size_t n, float eps, float* out) {
  for (size_t r = 0; r < n_rows; ++r) RmsNormRow(x + r * n, w, n, eps, out + r * n);
  Perturb("rms_norm", out, n_rows * n);
  return 0;
}

int LayerNorm(const float* x, const float* w, const float* b, size_t n_rows, size_t n, float eps,
              float* out) {
  for (size_t r = 0; r < n_rows; ++r) LayerNormRow(x + r * n, w, b, n, eps, out + r * n);
  Perturb("layer_norm", out, n_rows * n);
  return 0;
}

int Softmax(float* x, size_t n_rows, size_t n) {
  for (size_t r = 0; r < n_rows; ++r) SoftmaxRow(x + r * n, n);
  Perturb("softmax", x, n_rows * n);
  return 0;
}

int Rope(float* x, size_t n_tokens, size_t n_heads, size_t head_dim, size_t rot_dim,
         size_t first_pos, float freq_base, int neox) {
  for (size_t t = 0; t < n_tokens; ++t)
    for (size_t h = 0; h < n_heads; ++h)
      for (size_t i = 0; i < rot_dim / 2; ++i)
        RopePair(x + (t * n_heads + h) * head_dim, i, rot_dim, first_pos + t, freq_base, neox);
  Perturb("rope", x, n_tokens * n_heads * head_dim);
  return 0;
}

int Attention(const floe_gpu_attention_args* a) {
  for (size_t t = 0; t < a->n_tokens; ++t)
    for (size_t h = 0; h < a->n_heads; ++h) AttentionQuery(*a, t, h);
  Perturb("attention", a->out, a->n_tokens * a->n_heads * a->head_dim);
  return 0;
}

int Wkv6(const floe_gpu_wkv6_args* a) {
  for (size_t h = 0; h < a->n_heads; ++h)
    for (size_t j = 0; j < a->n; ++j) Wkv6Column(*a, h, j);
  Perturb("wkv6", a->y, a->n_tokens * a->n_heads * a->n);
  return 0;
}

int Lightning(const floe_gpu_lightning_args* a) {
  for (size_t h = 0; h < a->n_heads; ++h)
    for (size_t j = 0; j < a->dv; ++j) LightningColumn(*a, h, j);
  Perturb("lightning", a->o, a->n_tokens * a->n_heads * a->dv);
  return 0;
}

int SelectiveScan(const floe_gpu_scan_args* a) {
  for (size_t d = 0; d < a->d_inner; ++d) ScanChannel(*a, d);
  Perturb("selective_scan", a->y, a->n_tokens * a->d_inner);
  return 0;
}

const floe_gpu_backend kTable = {
    FLOE_GPU_ABI_VERSION, sizeof(floe_gpu_backend), "fake-cpu", Init, LastError, DeviceName,
    MatMul, RmsNorm, LayerNorm, Softmax, Rope, Attention, Wkv6, Lightning, SelectiveScan,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const floe_gpu_backend* floe_gpu_backend_get(
    uint32_t abi_version) {
  return abi_version == FLOE_GPU_ABI_VERSION ? &kTable : nullptr;
}
