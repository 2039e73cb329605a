// The C API: sessions (create, eval, logits, cancel), state save/restore/fork, and batched
// evaluation of several sequences.
#include <cstdio>
#include <cstring>
#include <vector>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "platform/base/output_file.h"
#include "platform/base/thread_context.h"
#include "runtime/api/c_api_internal.h"
#include "runtime/engine/head_plan_json.h"

using namespace floe::capi;

extern "C" {

floe_session_params floe_session_default_params(void) {
  floe_session_params p;
  p.struct_size = sizeof(p);
  p.n_threads = 0;
  p.context_length = 0;
  p.kv_type = FLOE_KV_F32;
  p.batch = 64;
  p.progress = nullptr;
  p.progress_user_data = nullptr;
  const floe::AttentionSettings a;  // one source of truth for the defaults
  p.attention = FLOE_ATTENTION_DENSE;
  p.knn_k = uint32_t(a.k);
  p.knn_window = uint32_t(a.window);
  p.knn_sinks = uint32_t(a.sinks);
  p.knn_dense_below = uint32_t(a.dense_below);
  p.knn_simple_indices = uint32_t(a.dci.simple_indices);
  p.knn_composite_indices = uint32_t(a.dci.composite_indices);
  p.knn_candidates_per_k = uint32_t(a.dci.candidates_per_k);
  p.faiss_kind = int32_t(a.faiss.kind);
  p.faiss_hnsw_m = uint32_t(a.faiss.hnsw_m);
  p.faiss_ef_search = uint32_t(a.faiss.ef_search);
  p.faiss_ef_construction = uint32_t(a.faiss.ef_construction);
  p.knn_search_block = uint32_t(a.search_block);
  p.knn_search_scale = a.search_scale;
  p.knn_levels = uint32_t(a.dci.levels);
  p.knn_fanout = uint32_t(a.dci.fanout);
  p.history_limit = 0;
  p.gold_kv_cache = a.gold_kv_cache ? 1 : 0;
  p.head_plan_json = nullptr;
  return p;
}

floe_status floe_session_create(floe_model* model, const floe_session_params* params,
                                floe_session** out) {
  return Guard(nullptr, [&]() -> floe_status {
    if (out == nullptr)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_create: out is NULL");
    *out = nullptr;
    if (model == nullptr)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_create: model is NULL");
    floe_session_params p = floe_session_default_params();
    if (params) {
      if (!SizeOk(params->struct_size, sizeof(floe_session_params)))
        return Fail(
            nullptr, FLOE_ERR_INVALID_ARGUMENT,
            "floe_session_create: params->struct_size is wrong; use floe_session_default_params()");
      std::memcpy(&p, params, params->struct_size);
    }
    if (p.kv_type != FLOE_KV_F32 && p.kv_type != FLOE_KV_F16)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_session_create: kv_type must be FLOE_KV_F32 or FLOE_KV_F16");
    floe::SessionParams sp;
    sp.threads = p.n_threads;
    sp.context_length = p.context_length;
    sp.kv_dtype = p.kv_type == FLOE_KV_F16 ? floe::DType::kF16 : floe::DType::kF32;
    sp.batch = p.batch;
    // The backend value is passed through as is: AttentionSettings::Validate names an unknown one.
    sp.attention.backend = static_cast<floe::AttentionBackend>(p.attention);
    sp.attention.k = p.knn_k;
    sp.attention.window = p.knn_window;
    sp.attention.sinks = p.knn_sinks;
    sp.attention.dense_below = p.knn_dense_below;
    sp.attention.dci.simple_indices = p.knn_simple_indices;
    sp.attention.dci.composite_indices = p.knn_composite_indices;
    sp.attention.dci.candidates_per_k = p.knn_candidates_per_k;
    sp.attention.faiss.kind =
        static_cast<floe::FaissKind>(p.faiss_kind);  // Validate names a bad one
    sp.attention.faiss.hnsw_m = p.faiss_hnsw_m;
    sp.attention.faiss.ef_search = p.faiss_ef_search;
    sp.attention.faiss.ef_construction = p.faiss_ef_construction;
    sp.attention.search_block = p.knn_search_block;
    sp.attention.search_scale = p.knn_search_scale;
    sp.attention.dci.levels = p.knn_levels;
    sp.attention.dci.fanout = p.knn_fanout;
    sp.history_limit = p.history_limit;
    sp.attention.gold_kv_cache = p.gold_kv_cache != 0;
    if (p.head_plan_json) {
      auto plan = floe::ParseHeadPlanJson(p.head_plan_json);
      if (!plan.ok()) return Report(nullptr, plan.status());
      sp.head_plan = std::move(plan).value();
    }
    if (p.progress) {
      const floe_progress_callback cb = p.progress;
      void* user = p.progress_user_data;
      sp.progress = [cb, user](size_t done, size_t total) {
        return cb(float(done) / float(total), user) != 0;
      };
    }
    auto s = floe::Session::Create(*model->model, sp);
    if (!s.ok()) return Report(nullptr, s.status());
    auto handle = std::make_unique<floe_session>();
    handle->owner = model;
    model->refs.fetch_add(1, std::memory_order_relaxed);
    handle->session = std::move(s).value();
    *out = handle.release();
    return FLOE_OK;
  });
}

void floe_session_free(floe_session* session) {
  if (session == nullptr) return;
  floe_model* owner = session->owner;
  delete session;
  ReleaseModel(owner);
}

const char* floe_session_last_error(const floe_session* s) {
  return s ? s->last_error.c_str() : "floe_session_last_error: session is NULL";
}

floe_status floe_session_eval(floe_session* s, const floe_token* tokens, size_t n) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_eval: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (tokens == nullptr || n == 0)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT, "floe_session_eval: no tokens");
    return Report(&s->last_error, s->session->Eval(std::span<const int32_t>(tokens, n)));
  });
}

floe_status floe_session_score(floe_session* s, const floe_token* tokens, size_t n,
                               double* nll_out) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_score: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (tokens == nullptr || n == 0)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT, "floe_session_score: no tokens");
    if (nll_out == nullptr)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT, "floe_session_score: nll_out is NULL");
    return Report(&s->last_error, s->session->Score(std::span<const int32_t>(tokens, n),
                                                    std::span<double>(nll_out, n)));
  });
}

const float* floe_session_logits(const floe_session* s) {
  return s ? s->session->logits().data() : nullptr;
}
size_t floe_session_position(const floe_session* s) { return s ? s->session->position() : 0; }
void floe_session_reset(floe_session* s) {
  if (s) s->session->Reset();
}
void floe_session_cancel(floe_session* s) {
  if (s) s->session->RequestCancel();
}

floe_status floe_session_state_size(floe_session* s, size_t* size) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_state_size: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (size == nullptr)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_session_state_size: size is NULL");
    std::vector<uint8_t> bytes;
    floe_status st = Report(&s->last_error, s->session->SaveState(&bytes));
    if (st == FLOE_OK) *size = bytes.size();
    return st;
  });
}

floe_status floe_session_state_save(floe_session* s, void* buf, size_t capacity, size_t* written) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_state_save: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (buf == nullptr)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_session_state_save: buf is NULL");
    std::vector<uint8_t> bytes;
    floe_status st = Report(&s->last_error, s->session->SaveState(&bytes));
    if (st != FLOE_OK) return st;
    if (written) *written = bytes.size();
    if (bytes.size() > capacity)
      return Fail(&s->last_error, FLOE_ERR_OUT_OF_RANGE,
                  "floe_session_state_save: the state needs " + std::to_string(bytes.size()) +
                      " bytes, buffer has " + std::to_string(capacity));
    std::memcpy(buf, bytes.data(), bytes.size());
    return FLOE_OK;
  });
}

floe_status floe_session_state_load(floe_session* s, const void* buf, size_t size) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_state_load: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (buf == nullptr)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_session_state_load: buf is NULL");
    return Report(&s->last_error, s->session->RestoreState(std::span<const uint8_t>(
                                      static_cast<const uint8_t*>(buf), size)));
  });
}

floe_status floe_session_state_save_file(floe_session* s, const char* path) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                "floe_session_state_save_file: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (path == nullptr)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_session_state_save_file: path is NULL");
    std::vector<uint8_t> bytes;
    floe_status st = Report(&s->last_error, s->session->SaveState(&bytes));
    if (st != FLOE_OK) return st;
    // A unique temporary file, flushed, then renamed: a crash never leaves a half-written state
    // file, and a target that is not a regular file is refused (platform/base/output_file.h).
    auto out = floe::OutputFile::Create(path);
    if (!out.ok()) return Report(&s->last_error, out.status());
    floe::Status written = out->Write(bytes.data(), bytes.size());
    if (written.ok()) written = out->Commit();
    return Report(&s->last_error, written);
  });
}

floe_status floe_session_state_load_file(floe_session* s, const char* path) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                "floe_session_state_load_file: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (path == nullptr)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_session_state_load_file: path is NULL");
    auto file = floe::MappedFile::Open(path, floe::FileLoadMode::kRead);
    if (!file.ok()) return Report(&s->last_error, file.status());
    return Report(&s->last_error,
                  s->session->RestoreState(std::span<const uint8_t>(file->data(), file->size())));
  });
}

floe_status floe_session_fork(floe_session* s, floe_session** out) {
  if (s == nullptr)
    return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_session_fork: session is NULL");
  return Guard(&s->last_error, [&]() -> floe_status {
    if (out == nullptr)
      return Fail(&s->last_error, FLOE_ERR_INVALID_ARGUMENT, "floe_session_fork: out is NULL");
    *out = nullptr;
    auto fork = s->session->Fork();
    if (!fork.ok()) return Report(&s->last_error, fork.status());
    auto handle = std::make_unique<floe_session>();
    handle->owner = s->owner;
    s->owner->refs.fetch_add(1, std::memory_order_relaxed);
    handle->session = std::move(fork).value();
    *out = handle.release();
    return FLOE_OK;
  });
}

floe_status floe_eval_batch(floe_session* const* sessions, const floe_token* const* tokens,
                            const size_t* n_tokens, size_t n_sequences, int32_t n_threads,
                            size_t* failed_index) {
  return Guard(nullptr, [&]() -> floe_status {
    if (failed_index) *failed_index = n_sequences;
    if (n_sequences == 0) return FLOE_OK;
    if (sessions == nullptr || tokens == nullptr || n_tokens == nullptr)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_eval_batch: NULL array");
    if (n_threads < 0)
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_eval_batch: n_threads < 0");
    for (size_t i = 0; i < n_sequences; ++i) {
      if (sessions[i] == nullptr || tokens[i] == nullptr || n_tokens[i] == 0)
        return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                    "floe_eval_batch: sequence " + std::to_string(i) +
                        " has a NULL session, NULL tokens or no tokens");
      if (sessions[i]->owner != sessions[0]->owner)
        return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                    "floe_eval_batch: sessions belong to different models");
      for (size_t j = 0; j < i; ++j)
        if (sessions[j] == sessions[i])
          return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                      "floe_eval_batch: session " + std::to_string(i) + " appears twice");
    }
    // A decode step (one token per sequence) is one batched forward: every weight is read once
    // for all sequences.
    bool one_each = true;
    for (size_t i = 0; i < n_sequences; ++i) one_each = one_each && n_tokens[i] == 1;
    if (one_each) {
      std::vector<floe::Session*> batch(n_sequences);
      std::vector<int32_t> step(n_sequences);
      for (size_t i = 0; i < n_sequences; ++i) {
        batch[i] = sessions[i]->session.get();
        step[i] = tokens[i][0];
      }
      floe::ThreadContext tc(n_threads);
      const floe::Status st = floe::Session::EvalBatch(batch, step, tc);
      if (!st.ok()) return Report(nullptr, st);
      return FLOE_OK;
    }
    // Otherwise the sequences run side by side in one arena; each session's own kernels run
    // inside it too (TBB nests the work-stealing), so n_threads bounds the total.
    std::vector<floe::Status> results(n_sequences);
    const int threads = n_threads > 0 ? n_threads : floe::PhysicalCoreCount();
    tbb::task_arena arena(threads);
    arena.execute([&] {
      tbb::parallel_for(size_t(0), n_sequences, [&](size_t i) {
        results[i] = sessions[i]->session->Eval(std::span<const int32_t>(tokens[i], n_tokens[i]));
      });
    });
    for (size_t i = 0; i < n_sequences; ++i) {
      Report(&sessions[i]->last_error, results[i]);
      if (!results[i].ok()) {
        if (failed_index) *failed_index = i;
        return Report(nullptr, results[i]);
      }
    }
    return FLOE_OK;
  });
}

}  // extern "C"
