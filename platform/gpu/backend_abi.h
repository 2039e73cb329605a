/* The C ABI between floe and an optional compute backend module (libfloe_cuda.so, or the CPU
 * fake the tests build): one versioned table of plain C function pointers, looked up by name
 * with dlsym, so neither side needs the other's C++ ABI and libfloe.a needs no CUDA library.
 * docs/gpu-parity.md describes the design.
 *
 * A module exports
 *     const floe_gpu_backend* floe_gpu_backend_get(uint32_t abi_version);
 * which returns its table when it implements `abi_version` (NULL otherwise). The loader
 * (backend_loader.h) checks abi_version and struct_size, then calls init() once before any
 * op. Every op works on HOST memory: it copies its inputs to the device, computes and copies
 * the results back (parity checking, not production inference), returns 0 on success and a
 * nonzero value on failure, with a message for last_error(). No function may abort or exit.
 *
 * Layouts are dense and row-major; "[a][b]" lists dimensions outermost first. Element types
 * use floe's / ggml's DType numbers (F32 0, F16 1, Q4_0 2, Q5_0 6, Q8_0 8, Q2_K 10, Q3_K 11,
 * Q4_K 12, Q6_K 14, BF16 30)
 * and quantized weights are ggml's blocks, byte for byte (platform/quant/quant.h).
 * The arithmetic each op must reproduce is the scalar reference named beside it. */
#ifndef FLOE_PLATFORM_GPU_BACKEND_ABI_H_
#define FLOE_PLATFORM_GPU_BACKEND_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_GPU_ABI_VERSION 1u
#define FLOE_GPU_BACKEND_SYMBOL "floe_gpu_backend_get"

/* Dense causal softmax attention over a KV cache (dense_attention.h): query row t (position
 * first_pos + t) of head h attends keys [0, first_pos + t] of KV head h / (n_heads /
 * n_kv_heads), softmax(scale * q . k) v. q, out: [n_tokens][n_heads][head_dim] f32;
 * k, v: [n_keys][n_kv_heads][head_dim] of kv_dtype (F32 or F16); n_keys >= first_pos +
 * n_tokens. */
typedef struct floe_gpu_attention_args {
  size_t n_tokens, n_heads, n_kv_heads, head_dim, n_keys, first_pos;
  uint32_t kv_dtype;
  float scale;
  const float* q;
  const void* k;
  const void* v;
  float* out;
} floe_gpu_attention_args;

/* RWKV-6 WKV (attention/linear/wkv6.h) for n_heads heads of size n over n_tokens tokens:
 * r, k, v, lw (log decay), y: [n_tokens][n_heads * n]; u: [n_heads * n];
 * s_in, s_out: [n_heads][n][n] (row = key channel). */
typedef struct floe_gpu_wkv6_args {
  size_t n_heads, n, n_tokens;
  const float *r, *k, *v, *lw, *u, *s_in;
  float *s_out, *y;
} floe_gpu_wkv6_args;

/* TransNormerLLM's decayed linear attention (attention/linear/lightning_attention.h):
 * q, k: [n_tokens][n_heads * dk]; v, o: [n_tokens][n_heads * dv]; log_decay: [n_heads];
 * s_in, s_out: [n_heads][dk][dv]. */
typedef struct floe_gpu_lightning_args {
  size_t n_heads, dk, dv, n_tokens;
  const float *q, *k, *v, *log_decay, *s_in;
  float *s_out, *o;
} floe_gpu_lightning_args;

/* Mamba's selective scan (attention/linear/selective_scan.h): u, delta, z, y:
 * [n_tokens][d_inner]; B, C: [n_tokens][d_state]; A, state (in/out): [d_state][d_inner];
 * D: [d_inner]. z and D may be NULL (no gate, no skip term). */
typedef struct floe_gpu_scan_args {
  size_t d_inner, d_state, n_tokens;
  const float *u, *delta, *B, *C, *z, *A, *D;
  float *state, *y;
} floe_gpu_scan_args;

typedef struct floe_gpu_backend {
  uint32_t abi_version; /* FLOE_GPU_ABI_VERSION */
  uint32_t struct_size; /* sizeof(floe_gpu_backend) as the module was compiled */
  const char* name;     /* "cuda", "fake-cpu" */
  /* Finds and opens the device. Nonzero (with last_error) when the driver or a device is
   * missing. Called once, before anything else. */
  int (*init)(void);
  /* The message of the calling thread's last failure ("" if none). */
  const char* (*last_error)(void);
  /* The device in words ("NVIDIA H100 80GB HBM3, sm_90, 79 GiB"). After init. */
  const char* (*device_name)(void);

  /* y[t][r] = sum_c W[r][c] x[t][c]: W rows x cols of dtype; x [n_tokens][cols],
   * y [n_tokens][rows]. F32/F16/BF16: float products (reference::MatMul). Quantized: each
   * token's x quantized to 8-bit blocks as QuantizeActivations (Q8_0 blocks of 32 for
   * Q4_0/Q5_0/Q8_0, Q8_K blocks of 256 for the K-quants), rows dotted as
   * QuantizedRowDotReference. */
  int (*matmul)(uint32_t dtype, const void* w, size_t rows, size_t cols, const float* x,
                size_t n_tokens, float* y);
  /* Per row of n: RmsNorm / LayerNorm of ops.h / layer_norm.h (out may equal x). */
  int (*rms_norm)(const float* x, const float* w, size_t n_rows, size_t n, float eps,
                  float* out);
  int (*layer_norm)(const float* x, const float* w, const float* b, size_t n_rows, size_t n,
                    float eps, float* out);
  /* In place, per row of n: Softmax of ops.h. */
  int (*softmax)(float* x, size_t n_rows, size_t n);
  /* In place on x [n_tokens][n_heads][head_dim], token t at position first_pos + t:
   * RopeInterleaved (neox == 0) or RopeHalfSplit (neox != 0) of ops.h. */
  int (*rope)(float* x, size_t n_tokens, size_t n_heads, size_t head_dim, size_t rot_dim,
              size_t first_pos, float freq_base, int neox);
  int (*attention)(const floe_gpu_attention_args* a);
  int (*wkv6)(const floe_gpu_wkv6_args* a);
  int (*lightning)(const floe_gpu_lightning_args* a);
  int (*selective_scan)(const floe_gpu_scan_args* a);
} floe_gpu_backend;

typedef const floe_gpu_backend* (*floe_gpu_backend_get_fn)(uint32_t abi_version);

#ifdef __cplusplus
}
#endif

#endif /* FLOE_PLATFORM_GPU_BACKEND_ABI_H_ */
