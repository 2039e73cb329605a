// libfloe_cuda.so: the backend table (platform/gpu/backend_abi.h) on an NVIDIA GPU. Each op
// copies its host inputs to device buffers, launches kernels whose threads run the shared
// arithmetic of platform/gpu/op_math.h (the same functions the CPU fake backend runs in the
// tests), and copies the results back. Built only with -DFLOE_CUDA=ON, against the static CUDA
// runtime, which opens the driver (libcuda.so.1) itself at init: the module loads on a machine
// without one and init() reports that instead. Compiled with --fmad=false so that products and
// sums round as the CPU's do (docs/gpu-parity.md).
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "platform/gpu/op_math.h"

namespace {

using namespace floe::gpu;

thread_local std::string g_error;
std::string g_device;

// Returns false (and records the message) when `e` is an error.
bool Ok(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  g_error = std::string(what) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
  return false;
}

// One device allocation, freed on scope exit.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  bool Alloc(size_t bytes) { return Ok(cudaMalloc(&p_, bytes ? bytes : 1), "cudaMalloc"); }
  // Allocates and uploads `bytes` from host `src` (nothing for a null src: p() stays null).
  bool Upload(const void* src, size_t bytes) {
    if (!src) return true;
    return Alloc(bytes) && Ok(cudaMemcpy(p_, src, bytes, cudaMemcpyHostToDevice), "upload");
  }
  bool Download(void* dst, size_t bytes) const {
    return Ok(cudaMemcpy(dst, p_, bytes, cudaMemcpyDeviceToHost), "download");
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
};

bool Launched(const char* kernel) {
  return Ok(cudaGetLastError(), kernel) && Ok(cudaDeviceSynchronize(), kernel);
}

unsigned Blocks(size_t n, unsigned threads) { return unsigned((n + threads - 1) / threads); }

// --- kernels: index arithmetic only; the math is op_math.h's ---

__global__ void ProbeKernel(int* out) { *out = 42; }

// One thread per activation block (32 or 256 values) of every token.
__global__ void QuantizeActivationsKernel(const float* x, size_t n_blocks, size_t blk, int8_t* q,
                                          float* d) {
  const size_t b = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= n_blocks) return;
  if (blk == 32)
    QuantizeBlockQ8_0(x + 32 * b, q + 32 * b, d + b);
  else
    QuantizeBlockQ8_K(x + 256 * b, q + 256 * b, d + 8 * b);
}

constexpr unsigned kMatThreads = 128;

// Block (r, t) computes y[t][r]: threads stride over the row's elements (float types) or its
// units of 32 (quantized), then a shared-memory tree sum.
__global__ void MatMulKernel(uint32_t dtype, const uint8_t* w, size_t rows, size_t cols,
                             const float* x, const int8_t* xq, const float* xd, float* y) {
  const size_t r = blockIdx.x, t = blockIdx.y;
  const uint8_t* row = w + r * RowBytes(dtype, cols);
  float acc = 0.0f;
  if (IsQuantizedType(dtype)) {
    for (size_t u = threadIdx.x; u < cols / 32; u += blockDim.x)
      acc += QuantDot32(dtype, row, u, xq + t * cols, xd + t * (cols / 32));
  } else {
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x)
      acc += WeightElem(dtype, row, c) * x[t * cols + c];
  }
  __shared__ float part[kMatThreads];
  part[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) y[t * rows + r] = part[0];
}

__global__ void RmsNormKernel(const float* x, const float* w, size_t n_rows, size_t n, float eps,
                              float* out) {
  const size_t r = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < n_rows) RmsNormRow(x + r * n, w, n, eps, out + r * n);
}

__global__ void LayerNormKernel(const float* x, const float* w, const float* b, size_t n_rows,
                                size_t n, float eps, float* out) {
  const size_t r = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < n_rows) LayerNormRow(x + r * n, w, b, n, eps, out + r * n);
}

__global__ void SoftmaxKernel(float* x, size_t n_rows, size_t n) {
  const size_t r = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < n_rows) SoftmaxRow(x + r * n, n);
}

// One thread per rotated pair of every (token, head).
__global__ void RopeKernel(float* x, size_t n_tokens, size_t n_heads, size_t head_dim,
                           size_t rot_dim, size_t first_pos, float freq_base, int neox) {
  const size_t pairs = rot_dim / 2;
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_tokens * n_heads * pairs) return;
  const size_t th = i / pairs, t = th / n_heads;
  RopePair(x + th * head_dim, i % pairs, rot_dim, first_pos + t, freq_base, neox);
}

__global__ void AttentionKernel(floe_gpu_attention_args a) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < a.n_tokens * a.n_heads) AttentionQuery(a, i / a.n_heads, i % a.n_heads);
}

__global__ void Wkv6Kernel(floe_gpu_wkv6_args a) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < a.n_heads * a.n) Wkv6Column(a, i / a.n, i % a.n);
}

__global__ void LightningKernel(floe_gpu_lightning_args a) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < a.n_heads * a.dv) LightningColumn(a, i / a.dv, i % a.dv);
}

__global__ void ScanKernel(floe_gpu_scan_args a) {
  const size_t d = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (d < a.d_inner) ScanChannel(a, d);
}

constexpr unsigned kThreads = 128;

// --- the table's functions ---

int Init() {
  int n = 0;
  if (!Ok(cudaGetDeviceCount(&n), "cudaGetDeviceCount (is the NVIDIA driver installed?)"))
    return 1;
  if (n == 0) {
    g_error = "no CUDA device found";
    return 1;
  }
  if (!Ok(cudaSetDevice(0), "cudaSetDevice(0)")) return 1;
  cudaDeviceProp p;
  if (!Ok(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties")) return 1;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %.0f GiB", p.name, p.major, p.minor,
                double(p.totalGlobalMem) / double(1ull << 30));
  g_device = buf;
  // A kernel compiled for this module's architectures must run here (else "no kernel image").
  DeviceBuffer probe;
  int v = 0;
  if (!probe.Alloc(sizeof(int))) return 1;
  ProbeKernel<<<1, 1>>>(probe.as<int>());
  if (!Launched("probe kernel (built for another GPU architecture? see FLOE_CUDA_ARCHITECTURES)") ||
      !probe.Download(&v, sizeof v))
    return 1;
  if (v != 42) {
    g_error = "probe kernel returned a wrong value";
    return 1;
  }
  return 0;
}

const char* LastError() { return g_error.c_str(); }
const char* DeviceName() { return g_device.c_str(); }

int MatMul(uint32_t dtype, const void* w, size_t rows, size_t cols, const float* x,
           size_t n_tokens, float* y) {
  const size_t rb = RowBytes(dtype, cols), blk = BlockElems(dtype);
  if (rb == 0 || cols % blk != 0) {
    g_error = "matmul: unsupported dtype " + std::to_string(dtype) + " or cols " +
              std::to_string(cols);
    return 1;
  }
  if (rows == 0 || n_tokens == 0) return 0;
  if (rows > 0x7FFFFFFFu || n_tokens > 65535) {
    g_error = "matmul: too many rows or tokens for one launch";
    return 1;
  }
  DeviceBuffer dw, dx, dq, dd, dy;
  if (!dw.Upload(w, rows * rb) || !dx.Upload(x, n_tokens * cols * 4) ||
      !dy.Alloc(n_tokens * rows * 4))
    return 1;
  if (IsQuantizedType(dtype)) {
    if (!dq.Alloc(n_tokens * cols) || !dd.Alloc(n_tokens * cols / 32 * 4)) return 1;
    const size_t n_blocks = n_tokens * cols / blk;
    QuantizeActivationsKernel<<<Blocks(n_blocks, kThreads), kThreads>>>(
        dx.as<float>(), n_blocks, blk, dq.as<int8_t>(), dd.as<float>());
    if (!Launched("quantize activations")) return 1;
  }
  MatMulKernel<<<dim3(unsigned(rows), unsigned(n_tokens)), kMatThreads>>>(
      dtype, dw.as<uint8_t>(), rows, cols, dx.as<float>(), dq.as<int8_t>(), dd.as<float>(),
      dy.as<float>());
  return Launched("matmul") && dy.Download(y, n_tokens * rows * 4) ? 0 : 1;
}

int RmsNorm(const float* x, const float* w, size_t n_rows, size_t n, float eps, float* out) {
  DeviceBuffer dx, dw, dout;
  if (!dx.Upload(x, n_rows * n * 4) || !dw.Upload(w, n * 4) || !dout.Alloc(n_rows * n * 4))
    return 1;
  RmsNormKernel<<<Blocks(n_rows, kThreads), kThreads>>>(dx.as<float>(), dw.as<float>(), n_rows,
                                                        n, eps, dout.as<float>());
  return Launched("rms_norm") && dout.Download(out, n_rows * n * 4) ? 0 : 1;
}

int LayerNorm(const float* x, const float* w, const float* b, size_t n_rows, size_t n, float eps,
              float* out) {
  DeviceBuffer dx, dw, db, dout;
  if (!dx.Upload(x, n_rows * n * 4) || !dw.Upload(w, n * 4) || !db.Upload(b, n * 4) ||
      !dout.Alloc(n_rows * n * 4))
    return 1;
  LayerNormKernel<<<Blocks(n_rows, kThreads), kThreads>>>(
      dx.as<float>(), dw.as<float>(), db.as<float>(), n_rows, n, eps, dout.as<float>());
  return Launched("layer_norm") && dout.Download(out, n_rows * n * 4) ? 0 : 1;
}

int Softmax(float* x, size_t n_rows, size_t n) {
  DeviceBuffer dx;
  if (!dx.Upload(x, n_rows * n * 4)) return 1;
  SoftmaxKernel<<<Blocks(n_rows, kThreads), kThreads>>>(dx.as<float>(), n_rows, n);
  return Launched("softmax") && dx.Download(x, n_rows * n * 4) ? 0 : 1;
}

int Rope(float* x, size_t n_tokens, size_t n_heads, size_t head_dim, size_t rot_dim,
         size_t first_pos, float freq_base, int neox) {
  const size_t n = n_tokens * n_heads * head_dim, pairs = n_tokens * n_heads * (rot_dim / 2);
  DeviceBuffer dx;
  if (!dx.Upload(x, n * 4)) return 1;
  if (pairs == 0) return 0;
  RopeKernel<<<Blocks(pairs, kThreads), kThreads>>>(dx.as<float>(), n_tokens, n_heads, head_dim,
                                                    rot_dim, first_pos, freq_base, neox);
  return Launched("rope") && dx.Download(x, n * 4) ? 0 : 1;
}

int Attention(const floe_gpu_attention_args* a) {
  const size_t qn = a->n_tokens * a->n_heads * a->head_dim;
  const size_t kvn = a->n_keys * a->n_kv_heads * a->head_dim * (a->kv_dtype == kF16 ? 2 : 4);
  DeviceBuffer dq, dk, dv, dout;
  if (!dq.Upload(a->q, qn * 4) || !dk.Upload(a->k, kvn) || !dv.Upload(a->v, kvn) ||
      !dout.Alloc(qn * 4))
    return 1;
  floe_gpu_attention_args d = *a;
  d.q = dq.as<float>();
  d.k = dk.as<void>();
  d.v = dv.as<void>();
  d.out = dout.as<float>();
  const size_t n = a->n_tokens * a->n_heads;
  if (n == 0) return 0;
  AttentionKernel<<<Blocks(n, kThreads), kThreads>>>(d);
  return Launched("attention") && dout.Download(a->out, qn * 4) ? 0 : 1;
}

int Wkv6(const floe_gpu_wkv6_args* a) {
  const size_t rows = a->n_tokens * a->n_heads * a->n, st = a->n_heads * a->n * a->n;
  DeviceBuffer r, k, v, lw, u, sin, sout, y;
  if (!r.Upload(a->r, rows * 4) || !k.Upload(a->k, rows * 4) || !v.Upload(a->v, rows * 4) ||
      !lw.Upload(a->lw, rows * 4) || !u.Upload(a->u, a->n_heads * a->n * 4) ||
      !sin.Upload(a->s_in, st * 4) || !sout.Alloc(st * 4) || !y.Alloc(rows * 4))
    return 1;
  floe_gpu_wkv6_args d = *a;
  d.r = r.as<float>(), d.k = k.as<float>(), d.v = v.as<float>(), d.lw = lw.as<float>();
  d.u = u.as<float>(), d.s_in = sin.as<float>(), d.s_out = sout.as<float>(), d.y = y.as<float>();
  if (a->n_heads * a->n == 0) return 0;
  Wkv6Kernel<<<Blocks(a->n_heads * a->n, kThreads), kThreads>>>(d);
  return Launched("wkv6") && y.Download(a->y, rows * 4) && sout.Download(a->s_out, st * 4) ? 0
                                                                                             : 1;
}

int Lightning(const floe_gpu_lightning_args* a) {
  const size_t nk = a->n_tokens * a->n_heads * a->dk, nv = a->n_tokens * a->n_heads * a->dv;
  const size_t st = a->n_heads * a->dk * a->dv;
  DeviceBuffer q, k, v, ld, sin, sout, o;
  if (!q.Upload(a->q, nk * 4) || !k.Upload(a->k, nk * 4) || !v.Upload(a->v, nv * 4) ||
      !ld.Upload(a->log_decay, a->n_heads * 4) || !sin.Upload(a->s_in, st * 4) ||
      !sout.Alloc(st * 4) || !o.Alloc(nv * 4))
    return 1;
  floe_gpu_lightning_args d = *a;
  d.q = q.as<float>(), d.k = k.as<float>(), d.v = v.as<float>(), d.log_decay = ld.as<float>();
  d.s_in = sin.as<float>(), d.s_out = sout.as<float>(), d.o = o.as<float>();
  if (a->n_heads * a->dv == 0) return 0;
  LightningKernel<<<Blocks(a->n_heads * a->dv, kThreads), kThreads>>>(d);
  return Launched("lightning") && o.Download(a->o, nv * 4) && sout.Download(a->s_out, st * 4)
             ? 0
             : 1;
}

int SelectiveScan(const floe_gpu_scan_args* a) {
  const size_t nd = a->n_tokens * a->d_inner, nb = a->n_tokens * a->d_state;
  const size_t st = a->d_state * a->d_inner;
  DeviceBuffer u, dt, B, C, z, A, D, state, y;
  if (!u.Upload(a->u, nd * 4) || !dt.Upload(a->delta, nd * 4) || !B.Upload(a->B, nb * 4) ||
      !C.Upload(a->C, nb * 4) || !z.Upload(a->z, nd * 4) || !A.Upload(a->A, st * 4) ||
      !D.Upload(a->D, a->d_inner * 4) || !state.Upload(a->state, st * 4) || !y.Alloc(nd * 4))
    return 1;
  floe_gpu_scan_args d = *a;
  d.u = u.as<float>(), d.delta = dt.as<float>(), d.B = B.as<float>(), d.C = C.as<float>();
  d.z = z.as<float>(), d.A = A.as<float>(), d.D = D.as<float>();  // null stays null
  d.state = state.as<float>(), d.y = y.as<float>();
  if (a->d_inner == 0) return 0;
  ScanKernel<<<Blocks(a->d_inner, kThreads), kThreads>>>(d);
  return Launched("selective_scan") && y.Download(a->y, nd * 4) &&
                 state.Download(a->state, st * 4)
             ? 0
             : 1;
}

const floe_gpu_backend kTable = {
    FLOE_GPU_ABI_VERSION, sizeof(floe_gpu_backend), "cuda", Init, LastError, DeviceName,
    MatMul, RmsNorm, LayerNorm, Softmax, Rope, Attention, Wkv6, Lightning, SelectiveScan,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const floe_gpu_backend* floe_gpu_backend_get(
    uint32_t abi_version) {
  return abi_version == FLOE_GPU_ABI_VERSION ? &kTable : nullptr;
}
