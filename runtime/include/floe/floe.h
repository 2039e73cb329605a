/* floe C API (version 1). Pure C11; every symbol prefixed floe_/FLOE_.
 *
 * Conventions
 *  - Functions return floe_status (FLOE_OK = 0). On failure a message is kept: per handle
 *    (floe_model_last_error / floe_session_last_error) and, for calls that have no handle yet
 *    (loading, creating), per calling thread (floe_last_error).
 *  - Parameter structs are obtained from *_default_params() and carry their own size
 *    (struct_size) so later versions can grow them compatibly.
 *  - Thread safety: a floe_model is immutable once loaded; any number of sessions on any
 *    threads may use it at once, and every floe_model_* / floe_tokenize / floe_detokenize call
 *    is thread-safe. A floe_session / floe_sampler is used by one thread at a time, except
 *    floe_session_cancel, which any thread may call at any time. floe_model_free may be called
 *    while sessions still exist: the model is released when its last session is freed.
 *  - Strings returned by *_last_error stay valid until the next call on the same thread.
 *  - The library never aborts or exits the process.
 */
#ifndef FLOE_FLOE_H_
#define FLOE_FLOE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_API_VERSION 1

typedef enum floe_status {
  FLOE_OK = 0,
  FLOE_ERR_INVALID_ARGUMENT = 1, /* null handle, bad size, bad setting */
  FLOE_ERR_NOT_FOUND = 2,        /* file, tensor or key missing */
  FLOE_ERR_IO = 3,
  FLOE_ERR_CORRUPT_DATA = 4, /* truncated / inconsistent / hostile file */
  FLOE_ERR_UNSUPPORTED = 5,
  FLOE_ERR_OUT_OF_RANGE = 6, /* context full, token id out of range, buffer too small */
  FLOE_ERR_CANCELLED = 7,
  FLOE_ERR_OUT_OF_MEMORY = 8,
  FLOE_ERR_INTERNAL = 9
} floe_status;

typedef int32_t floe_token;
typedef struct floe_model floe_model;
typedef struct floe_session floe_session;
typedef struct floe_sampler floe_sampler;

const char* floe_version(void); /* e.g. "0.1.0" */
int floe_api_version(void);     /* FLOE_API_VERSION the library was built with */
const char* floe_status_string(floe_status status);
const char* floe_last_error(void); /* this thread's last handle-less error */

/* ---- logging ---- */
typedef enum floe_log_level {
  FLOE_LOG_DEBUG = 0,
  FLOE_LOG_INFO = 1,
  FLOE_LOG_WARN = 2,
  FLOE_LOG_ERROR = 3,
  FLOE_LOG_SILENT = 4
} floe_log_level;
/* Receives library log messages (one line, no trailing newline). */
typedef void (*floe_log_callback)(floe_log_level level, const char* message, void* user_data);

/* Load progress in [0, 1]; return 0 to cancel the load (floe_model_load -> FLOE_ERR_CANCELLED). */
typedef int (*floe_progress_callback)(float fraction, void* user_data);

/* ---- model ---- */
typedef struct floe_model_params {
  uint32_t struct_size;            /* sizeof(floe_model_params) */
  const char* tokenizer_path;      /* llama2.c tokenizer.bin, or NULL to use the model file's own */
  int use_mmap;                    /* 1 (default): map the file; 0: read it into memory */
  floe_progress_callback progress; /* may be NULL */
  void* progress_user_data;
  floe_log_callback log; /* NULL (default): warnings and errors to stderr */
  void* log_user_data;
  int32_t log_level; /* floe_log_level: minimum level passed on; default FLOE_LOG_WARN */
  /* Page backing of a mapped file: 0 plain mmap; 1 ask for 2 MiB pages (madvise); 2 (default):
     also, when a file of 32 MiB to half of RAM sits in the page cache in small pages (just
     written or downloaded), drop its unmapped cached pages once and read it in again in 2 MiB
     pages (docs/weight-pages.md). Ignored with use_mmap = 0. */
  int32_t huge_pages;
  /* 1 (default): where the CPU has AVX-512 VNNI, copy the q4_0 / q8_0 projection matrices into
     16-row panels at load (faster products, the same memory; docs/quantization.md); 0: keep every
     weight in the file's layout. */
  int32_t repack_weights;
} floe_model_params;

floe_model_params floe_model_default_params(void);
/* path: GGUF, llama2.c checkpoint, rwkv.cpp file, PyTorch .pth / safetensors (RWKV-6). On success
 * *out is a new model (free with floe_model_free). */
floe_status floe_model_load(const char* path, const floe_model_params* params, floe_model** out);
void floe_model_free(floe_model* model); /* NULL is fine; all its sessions must be freed first */
const char* floe_model_last_error(const floe_model* model);
int32_t floe_model_vocab_size(const floe_model* model);     /* -1 for NULL */
int32_t floe_model_context_length(const floe_model* model); /* -1 for NULL */
floe_token floe_model_bos(const floe_model* model);         /* -1 if none */
floe_token floe_model_eos(const floe_model* model);         /* -1 if none */
/* Architecture name ("llama", ...); "" for NULL. Valid while the model lives. */
const char* floe_model_architecture(const floe_model* model);
/* Metadata of the model file (GGUF keys; llama2.c files expose the hyperparameters under the
 * same llama.* names). Writes the value as text (numbers in decimal, arrays as "[n items]") to
 * buf (NUL-terminated when capacity allows) and the length needed to *len.
 * FLOE_ERR_NOT_FOUND for an unknown key, FLOE_ERR_OUT_OF_RANGE when buf is too small. */
floe_status floe_model_meta(floe_model* model, const char* key, char* buf, size_t capacity,
                            size_t* len);
size_t floe_model_meta_count(const floe_model* model);
/* The i-th metadata key (0 <= i < floe_model_meta_count), or NULL. Valid while the model lives. */
const char* floe_model_meta_key(const floe_model* model, size_t i);

/* Tokenize `len` bytes of text. Writes at most `capacity` tokens to `out` and the number needed
 * to *n_tokens; FLOE_ERR_OUT_OF_RANGE when capacity is too small (then call again). */
floe_status floe_tokenize(floe_model* model, const char* text, size_t len, int add_bos,
                          floe_token* out, size_t capacity, size_t* n_tokens);
/* Decode tokens to UTF-8 bytes (not NUL-terminated unless room is left: a NUL is appended when
 * capacity > needed). *n_bytes = bytes needed; FLOE_ERR_OUT_OF_RANGE when capacity is too small. */
floe_status floe_detokenize(floe_model* model, const floe_token* tokens, size_t n, char* out,
                            size_t capacity, size_t* n_bytes);

/* ---- session ---- */
typedef enum floe_kv_type { FLOE_KV_F32 = 0, FLOE_KV_F16 = 1 } floe_kv_type;

/* Attention backend of a session (attention models; recurrent models accept only DENSE).
 * ICE: IceFormer kNN attention (arXiv 2405.02842) without retraining: each query attends to
 * the first knn_sinks positions, the last knn_window positions and the knn_k keys with the
 * largest q.k, found by a Prioritized DCI index kept beside the KV cache.
 * FAISS: the same, the keys found by a FAISS index (faiss_kind: exact inner product or HNSW);
 * FLOE_ERR_UNSUPPORTED when floe was built without FAISS. */
typedef enum floe_attention_backend {
  FLOE_ATTENTION_DENSE = 0,
  FLOE_ATTENTION_ICE = 1,
  FLOE_ATTENTION_FAISS = 2
} floe_attention_backend;

/* FAISS index of the FAISS attention backend. */
typedef enum floe_faiss_kind { FLOE_FAISS_FLAT = 0, FLOE_FAISS_HNSW = 1 } floe_faiss_kind;

typedef struct floe_session_params {
  uint32_t struct_size;    /* sizeof(floe_session_params) */
  int32_t n_threads;       /* 0 (default) = number of physical cores */
  uint32_t context_length; /* 0 (default) = the model's trained context */
  int32_t kv_type;         /* floe_kv_type; default FLOE_KV_F32 */
  uint32_t batch;          /* prefill chunk, tokens; default 64 */
  /* Called on the evaluating thread after each prefill chunk of an eval (fraction of its tokens
   * done); return 0 to stop it (FLOE_ERR_CANCELLED). NULL (default): no progress reports. */
  floe_progress_callback progress;
  void* progress_user_data;
  /* Attention fields (added later: callers built before them pass a smaller struct_size and
   * get these defaults).
   * Invalid values (unknown backend, knn_k 0, window or sinks beyond the context) make
   * floe_session_create fail with FLOE_ERR_INVALID_ARGUMENT and a message. */
  int32_t attention;              /* floe_attention_backend; default FLOE_ATTENTION_DENSE */
  uint32_t knn_k;                 /* ICE: keys retrieved per query and head; default 32 */
  uint32_t knn_window;            /* ICE: most recent positions always attended; default 256 */
  uint32_t knn_sinks;             /* ICE: first positions always attended; default 4 */
  uint32_t knn_dense_below;       /* ICE: queries seeing fewer keys attend densely; default 1024 */
  uint32_t knn_simple_indices;    /* ICE: Prioritized DCI simple indices per composite (m) */
  uint32_t knn_composite_indices; /* ICE: Prioritized DCI composite indices (L) */
  uint32_t knn_candidates_per_k;  /* ICE: candidates retrieved per composite index, x knn_k */
  /* FAISS backend fields (added later, same struct_size rule); knn_k/window/sinks/dense_below
   * apply to FAISS as to ICE. */
  int32_t faiss_kind;             /* floe_faiss_kind; default FLOE_FAISS_HNSW */
  uint32_t faiss_hnsw_m;          /* FAISS HNSW: graph degree M; default 16 */
  uint32_t faiss_ef_search;       /* FAISS HNSW: search beam efSearch; default 256 */
  uint32_t faiss_ef_construction; /* FAISS HNSW: build beam efConstruction; default 200 */
  /* Shared-search fields (added later, same struct_size rule; ICE only): the queries of a head
   * at the positions of each block of knn_search_block share one kNN search (made by the block's
   * first kNN query, asking for knn_search_scale x knn_k keys, carried across evals and decode
   * steps in the session state); each query ranks those candidates exactly. 1 = one search per
   * query. */
  uint32_t knn_search_block; /* default 16 (1..1024) */
  float knn_search_scale;    /* default 1.25 (1..64) */
  /* Multi-level DCI fields (added later, same struct_size rule; ICE only): 1 level = one
   * Prioritized DCI over all keys; 2..4 = each key hangs under its nearest key of the level
   * above and only the top level is searched by DCI (docs/attention/ice.md). */
  uint32_t knn_levels; /* default 2 (1..4) */
  uint32_t knn_fanout; /* expected children per node; default 32 (2..4096) */
  /* Token history (added later, same struct_size rule): 0 (default) = the session keeps every
   * token it read (saved with its state); N = only the last N, so a long stream through a
   * recurrent model holds constant memory. A state saved with a limit restores only into a
   * session with a limit. */
  uint32_t history_limit;
  /* GoldFinch field (added later, same struct_size rule): nonzero keeps the GOLD layers' keys
   * and values materialised beside the compressed TokenCat cache (a speed cache of
   * 2 x GOLD layers x n_embd floats per token) instead of rebuilding them at every decode step.
   * ICE and FAISS on GoldFinch imply it. Other models ignore it. */
  int32_t gold_kv_cache; /* default 0 */
  /* Head plan (added later, same struct_size rule): NULL (default) = every head attends as
   * `attention` says; else the text of a head-plan JSON document (docs/attention/head-plans.md)
   * giving each (layer, KV head) its mode (dense, knn, window, recurrent) and keeping only the
   * cache that mode needs; knn heads take the other knn_* fields above. Read during
   * floe_session_create only (the string need not outlive it). A malformed plan, heads the
   * model lacks, a window of 0, recurrent heads in a model without recurrent blocks, or an
   * architecture without attention heads: FLOE_ERR_INVALID_ARGUMENT and a message. */
  const char* head_plan_json;
  /* Memory budget (added later, same struct_size rule): the most bytes the session's sequence
   * state may hold (KV cache rows, kNN index, recurrent state, scratch); 0 (default) = no limit.
   * An eval or score that would pass it fails with FLOE_ERR_OUT_OF_MEMORY and a message naming
   * the bytes needed and the budget, before anything is computed or allocated; the session
   * stays usable (a shorter eval may follow). floe_session_state_load(_file) of a state that
   * would hold more than the budget fails the same way, the session unchanged.
   * floe_session_create fails the same way when even an empty state exceeds it. */
  uint64_t memory_budget;
} floe_session_params;

floe_session_params floe_session_default_params(void);
floe_status floe_session_create(floe_model* model, const floe_session_params* params,
                                floe_session** out);
void floe_session_free(floe_session* session);
const char* floe_session_last_error(const floe_session* session);
/* Append tokens (chunked prefill). Afterwards floe_session_logits gives the next-token logits. */
floe_status floe_session_eval(floe_session* session, const floe_token* tokens, size_t n);
/* Append tokens as floe_session_eval does, and write nll_out[i] (n doubles) = -log p(tokens[i] |
 * everything before it), in nats: for i = 0 from the session's current logits (the session must
 * hold at least one token, e.g. BOS), for i > 0 from the row after tokens[i-1]. Rows come from
 * chunked prefill (params.batch tokens at a time): prefill speed, memory bounded by one chunk of
 * logits whatever n. On error floe_session_position tells how many tokens were consumed; their
 * values are written. Afterwards floe_session_logits follows the last token, as after eval. */
floe_status floe_session_score(floe_session* session, const floe_token* tokens, size_t n,
                               double* nll_out);
/* vocab_size floats after the last evaluated token; valid until the next eval/reset/free. */
const float* floe_session_logits(const floe_session* session);
size_t floe_session_position(const floe_session* session);
void floe_session_reset(floe_session* session);
/* Thread-safe: makes a running eval/generate on this session return FLOE_ERR_CANCELLED (eval)
 * or stop (generate) at the next layer boundary. */
void floe_session_cancel(floe_session* session);

/* State: the whole sequence (cache / recurrent state, token history, last logits).
 * floe_session_state_size gives the bytes floe_session_state_save needs now. Restoring needs a
 * session of the same model with the same cache type and enough context; on error the session
 * is unchanged. */
floe_status floe_session_state_size(floe_session* session, size_t* size);
floe_status floe_session_state_save(floe_session* session, void* buf, size_t capacity,
                                    size_t* written);
floe_status floe_session_state_load(floe_session* session, const void* buf, size_t size);
floe_status floe_session_state_save_file(floe_session* session, const char* path);
floe_status floe_session_state_load_file(floe_session* session, const char* path);
/* A new, independent session continuing from the same point (same params). */
floe_status floe_session_fork(floe_session* session, floe_session** out);

/* Evaluates several sequences in one call: tokens[i][0..n_tokens[i]) is appended to
 * sessions[i] (distinct sessions of the same model; lengths may differ). Afterwards each
 * session's floe_session_logits holds its next-token logits. When every sequence gets exactly
 * one token (a decode step), the model runs them as one batched forward that reads each weight
 * once for all sequences; on failure no session advances and *failed_index = n_sequences.
 * Otherwise sequences run concurrently on up to n_threads threads in total (0 = physical
 * cores); on failure *failed_index (may be NULL) names the first sequence that failed and the
 * others completed. */
floe_status floe_eval_batch(floe_session* const* sessions, const floe_token* const* tokens,
                            const size_t* n_tokens, size_t n_sequences, int32_t n_threads,
                            size_t* failed_index);

/* ---- sampling ---- */
typedef struct floe_sampler_params {
  uint32_t struct_size;  /* sizeof(floe_sampler_params) */
  float temperature;     /* >= 0; 0: greedy. default 0.8 */
  int32_t top_k;         /* >= 0; 0 disables. default 40 */
  float top_p;           /* in (0, 1]; 1 disables. default 0.95 (others: FLOE_ERR_INVALID_ARGUMENT) */
  float min_p;           /* <= 0 disables. default 0.05 */
  float repeat_penalty;  /* 1 disables. default 1 */
  int32_t repeat_last_n; /* default 64 */
  uint64_t seed;         /* default 0 */
} floe_sampler_params;

floe_sampler_params floe_sampler_default_params(void);
floe_status floe_sampler_create(const floe_sampler_params* params, floe_sampler** out);
void floe_sampler_free(floe_sampler* sampler);
/* Sample from the session's current logits (its token history feeds the repetition penalty). */
floe_status floe_sampler_sample(floe_sampler* sampler, const floe_session* session,
                                floe_token* out);

/* Called for every generated token with its UTF-8-complete text (len may be 0 while a
 * multi-byte character is incomplete; token is -1 for a final flush of pending bytes).
 * Return nonzero to continue, 0 to stop. */
typedef int (*floe_token_callback)(floe_token token, const char* text, size_t len, void* user_data);

/* Tokenizes prompt (with BOS if add_bos), evaluates it and samples up to max_tokens new tokens,
 * streaming each through callback (may be NULL). *n_generated (may be NULL) receives the count.
 * Stops early at end of text, when the callback returns 0, or when the context is full (all
 * FLOE_OK), or when floe_session_cancel is called (FLOE_ERR_CANCELLED; *n_generated is still set
 * and the session stays usable). */
floe_status floe_generate(floe_session* session, const char* prompt, int add_bos, size_t max_tokens,
                          floe_sampler* sampler, floe_token_callback callback, void* user_data,
                          size_t* n_generated);

/* ---- chat templates ---- */
typedef struct floe_chat_params {
  uint32_t struct_size;      /* sizeof(floe_chat_params) */
  const char* bos_token;     /* the template variable bos_token; NULL (default): "" */
  const char* eos_token;     /* the template variable eos_token; NULL (default): "" */
  int add_generation_prompt; /* the template variable add_generation_prompt; default 1 */
  /* What the template's strftime_now(format) returns; NULL (default): today's date formatted
   * with the format asked for. */
  const char* strftime_now;
} floe_chat_params;

floe_chat_params floe_chat_default_params(void);
/* Renders a conversation into the prompt text the model was trained on.
 * template_text: a Jinja chat template (a GGUF's tokenizer.chat_template, read with
 * floe_model_meta); NULL or "" renders ChatML (docs/chat-templates.md).
 * messages_json: a JSON array of message objects ({"role": ..., "content": ...}; content a
 * string or an array of {"type": "text", "text": ...} parts).
 * Writes like floe_detokenize: *n_bytes = bytes needed (without a NUL), a NUL appended when
 * capacity > needed, FLOE_ERR_OUT_OF_RANGE when capacity is too small. Errors in the messages or
 * the template (or the template's raise_exception) are FLOE_ERR_INVALID_ARGUMENT with a message
 * in floe_last_error. */
floe_status floe_chat_render(const char* template_text, const char* messages_json,
                             const floe_chat_params* params, char* out, size_t capacity,
                             size_t* n_bytes);

#ifdef __cplusplus
}
#endif

#endif /* FLOE_FLOE_H_ */
