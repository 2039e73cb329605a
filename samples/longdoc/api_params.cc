#include "api_params.h"

namespace floe::longdoc {

floe_model_params ToModelParams(const cli::ModelFlags& f) {
  floe_model_params p = floe_model_default_params();
  p.tokenizer_path = f.load.tokenizer_path.empty() ? nullptr : f.load.tokenizer_path.c_str();
  p.huge_pages = f.load.huge_pages == HugePages::kOff      ? 0
                 : f.load.huge_pages == HugePages::kAdvise ? 1
                                                           : 2;
  return p;
}

floe_session_params ToSessionParams(const SessionParams& s) {
  floe_session_params p = floe_session_default_params();
  p.n_threads = s.threads;
  p.context_length = uint32_t(s.context_length);
  p.kv_type = s.kv_dtype == DType::kF16 ? FLOE_KV_F16 : FLOE_KV_F32;
  p.batch = uint32_t(s.batch);
  const AttentionSettings& a = s.attention;
  p.attention = int32_t(a.backend);
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
  // longdoc never reads the token history back (windows restart from the document, checkpoints
  // restore into a session made the same way): keep one token, so memory does not grow.
  p.history_limit = 1;
  p.gold_kv_cache = a.gold_kv_cache ? 1 : 0;
  return p;
}

}  // namespace floe::longdoc
