// Attention by a head plan (attention/head_plan.h): the keys, values and kNN indexes of one
// sequence, stored per (layer, KV head) as that head's mode needs, and the attention of each head
// by its own mode:
//   dense      all keys and values of the context (a one-head KvCache); DenseAttention
//   knn        all keys and values + the head's kNN index and shared candidates; IceAttention
//              with the head's k, window and sinks (other kNN parameters: the session's
//              AttentionSettings, the DCI seed mixed with the head's place)
//   window W   a ring buffer of R = W + max_rows - 1 rows (max_rows: the most query rows of one
//              call), so a call can store all its keys before its first query reads its window
//              (p - W, p]; the softmax over those W keys is ice::SparseAttendOne's
//   recurrent  nothing here: the model computes those heads' outputs itself; Attend writes
//              zeros in their slots
// The cache bytes of a window head are constant in the context; dense and knn heads grow with it.
// An attention probe (set_probe) sees the knn heads' queries, in the model's layer and head
// numbers, their keys in the head's own store (AttentionProbeEvent::cache_layer/_kv_head 0, 0);
// dense heads are not probed (nor is the dense backend), window and recurrent heads have no
// search to measure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "attention/attention_probe.h"
#include "attention/attention_settings.h"
#include "attention/dense/kv_cache.h"
#include "attention/head_plan.h"
#include "attention/knn/ice_attention.h"
#include "attention/knn/knn_index_set.h"
#include "attention/knn/shared_candidates.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/state_io.h"
#include "platform/base/status.h"
#include "platform/base/thread_context.h"

namespace floe {

// The storage layout a planned state was saved with: PlannedAttention::Shape() read back from
// the state's header, so that a state restores into a session with another plan (or none).
struct SavedHeadLayout {
  size_t n_layers = 0, n_kv_heads = 0, head_dim = 0;
  DType dtype = DType::kF32;
  std::vector<HeadSpec> specs;  // [layer * n_kv_heads + head]: mode, and window, k, sinks
  // How many of the last positions of a state of n positions head i holds: n (dense, knn),
  // min(W, n) (window W) or 0 (recurrent).
  size_t kept(size_t i, size_t n) const;
  // kInvalidArgument unless the layout is one of these heads and this cache type.
  Status CheckShape(size_t layers, size_t kv_heads, size_t dim, DType type) const;
  // kInvalidArgument, naming the first head, unless every saved head kept, of a sequence of n
  // positions, what the head of `wanted` (one spec per head, same order) needs: dense and knn
  // every position, window W the last min(W, n), recurrent nothing (and only from a recurrent
  // head).
  Status CheckCovers(std::span<const HeadSpec> wanted, size_t n) const;
};
// Parses what Shape() wrote. The shape comes from a file: kInvalidArgument for a count that
// does not match its dims, a dtype other than f32/f16, an unknown mode, a window head with
// W = 0, values beyond 2^32.
Result<SavedHeadLayout> ParseSavedHeadLayout(std::span<const uint64_t> shape);

// Reads the payload PlannedAttention::Save wrote for n positions under `layout`, head by head
// in (layer, KV head) order, passing each head's kept rows to `rows` (the first position they
// hold, their count, then count key rows and count value rows of layout.head_dim values in
// layout.dtype, position order), then each knn head's saved candidates to `candidates` (its
// index in layout.specs and the bytes), and checks that every byte was read. Either sink may be
// empty (rows: a check of the bytes only; candidates: skipped). Stops at the first error.
using SavedRowsSink = std::function<Status(size_t layer, size_t head, size_t first, size_t count,
                                           const uint8_t* keys, const uint8_t* values)>;
using SavedCandidatesSink = std::function<Status(size_t head, std::span<const uint8_t> bytes)>;
Status ReadSavedHeads(const SavedHeadLayout& layout, size_t n, StateReader& r,
                      const SavedRowsSink& rows, const SavedCandidatesSink& candidates = {});

class PlannedAttention {
 public:
  PlannedAttention() = default;
  PlannedAttention(const PlannedAttention&) = delete;
  PlannedAttention& operator=(const PlannedAttention&) = delete;

  // Storage for `plan` (resolved for this model and `capacity`), heads of head_dim, kv dtype
  // kF32 or kF16, calls of at most max_rows query rows of n_heads query heads (a multiple of the
  // plan's KV heads). `knn` gives the kNN parameters the plan's knn heads do not set (backend:
  // faiss keeps faiss, anything else is ice). kOutOfMemory / kInvalidArgument on failure.
  Status Init(const ResolvedHeadPlan& plan, size_t n_heads, size_t head_dim, size_t capacity,
              size_t max_rows, DType dtype, const AttentionSettings& knn);

  // Optional; called from worker threads (AttentionProbe's contract). Not part of a copy.
  void set_probe(AttentionProbe* probe) { probe_ = probe; }
  const ResolvedHeadPlan& plan() const { return plan_; }
  size_t capacity() const { return capacity_; }
  // Cache rows, kNN indexes and shared candidates (not the call scratch).
  size_t bytes() const;
  // What the storage holds once it holds `n` positions, `pos` (<= n) being held now: the rows
  // those positions touch (dense and knn heads n rows of keys and values, window heads
  // min(n, ring) rows; recurrent heads none), and each kNN index and its candidates as they are
  // now plus the keys still to come, at the bytes per key the index holds now (one f32 key per
  // position before it holds any). What a session's memory budget is checked against.
  size_t bytes_at(size_t pos, size_t n) const;
  size_t scratch_bytes() const { return scratch_.size() * sizeof(float); }
  void Clear();  // an empty sequence (indexes and candidates emptied; rows are overwritten)

  // Stores the n_kv_heads * head_dim floats of k and v of (layer, pos), each head's part as its
  // mode needs (recurrent heads: nothing). pos < capacity.
  void Store(size_t layer, size_t pos, const float* k, const float* v);

  // Attention of n query rows (q: n x n_heads * head_dim, RoPE applied) at positions
  // first_pos.. over what Store kept (keys up to first_pos + n - 1 stored), into out (same
  // shape). n <= max_rows. Errors are the kNN index's.
  Status Attend(size_t layer, size_t n, size_t first_pos, const float* q, float* out,
                ThreadContext* threads);

  // The fingerprint of the storage layout (for a state header): heads, dtype and every spec.
  std::vector<uint64_t> Shape() const;
  // Positions [0, n): per (layer, head) in order: dense/knn heads their keys then values of
  // [0, n), window heads those of their last min(W, n) positions, then each knn head's shared
  // candidates (length-prefixed).
  void Save(size_t n, StateWriter& w) const;
  // Reads what Save wrote for n positions into a fresh copy, rebuilds the kNN indexes, and
  // replaces this storage only when all of it succeeded and no byte is left (else unchanged,
  // kInvalidArgument). RestoreFromPlan with this storage's own layout.
  Status Restore(size_t n, StateReader& r);
  // Reads what KvCache::SavePrefix wrote for n positions of a whole-layer cache of the same
  // heads and dtype (a state saved without a plan) and keeps of it what each head needs, kNN
  // indexes rebuilt: a dense sequence continued under a plan. Unchanged on error.
  Status RestoreFromDense(size_t n, StateReader& r);
  // Reads a state of n positions saved under a plan (`saved`, from its header; same layers, KV
  // heads, head_dim and dtype, else kInvalidArgument) and keeps of each head what this plan's
  // mode needs, kNN indexes rebuilt. The saved kNN candidates are restored when `saved` is this
  // storage's own layout and dropped otherwise. A head whose mode needs positions the saved head
  // did not keep is kInvalidArgument naming the head (SavedHeadLayout::CheckCovers). Unchanged
  // on error.
  Status RestoreFromPlan(const SavedHeadLayout& saved, size_t n, StateReader& r);
  // A deep copy of `other`'s first n positions (same plan and shape).
  Status CopyFrom(const PlannedAttention& other, size_t n);

 private:
  struct Head {
    HeadSpec spec;
    KvCache kv;  // 1 layer x 1 head: capacity rows (dense, knn) or a ring (window)
    AttentionSettings settings;  // knn heads
    std::unique_ptr<KnnIndexSet> index;
    ice::SharedCandidates shared;
    IceScratchPool pool;
    std::vector<float> scores;   // window heads: SparseAttendOne scratch
    std::vector<uint32_t> slots;
  };
  Head& at(size_t layer, size_t h) { return heads_[layer * plan_.n_kv_heads + h]; }
  const Head& at(size_t layer, size_t h) const { return heads_[layer * plan_.n_kv_heads + h]; }
  Status AttendHead(size_t layer, size_t kv_head, size_t n, size_t first_pos, const float* q,
                    float* out, ThreadContext* threads);

  ResolvedHeadPlan plan_;
  size_t n_heads_ = 0, head_dim_ = 0, capacity_ = 0, max_rows_ = 1;
  DType dtype_ = DType::kF32;
  AttentionSettings knn_;
  AttentionProbe* probe_ = nullptr;
  std::vector<Head> heads_;
  AlignedBuffer<float> scratch_;  // gathered q and out rows of one layer's heads
};

}  // namespace floe
