#include "attention/planned/planned_attention.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "attention/dense/dense_attention.h"

namespace floe {

namespace {

// Ring rows of a window head: a call stores up to max_rows keys before its first query reads
// its W keys, so W + max_rows - 1 rows never overwrite a key still needed.
size_t RingRows(size_t window, size_t max_rows, size_t capacity) {
  return std::min(capacity, window + max_rows - 1);
}

bool KeepsAll(HeadMode m) { return m == HeadMode::kDense || m == HeadMode::kKnn; }

// How many of the last positions of a sequence of n a head of this spec holds.
size_t KeptPositions(const HeadSpec& s, size_t n) {
  if (KeepsAll(s.mode)) return n;
  return s.mode == HeadMode::kWindow ? std::min(s.window, n) : 0;
}

// splitmix64 finaliser: a distinct DCI seed per (layer, head) from the session's seed.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Status PlannedAttention::Init(const ResolvedHeadPlan& plan, size_t n_heads, size_t head_dim,
                              size_t capacity, size_t max_rows, DType dtype,
                              const AttentionSettings& knn) {
  if (plan.n_kv_heads == 0 || n_heads % plan.n_kv_heads != 0 ||
      plan.specs.size() != plan.n_layers * plan.n_kv_heads)
    return InvalidArgument("head plan: " + std::to_string(n_heads) +
                           " query heads do not group onto " + std::to_string(plan.n_kv_heads) +
                           " KV heads");
  plan_ = plan;
  n_heads_ = n_heads;
  head_dim_ = head_dim;
  capacity_ = capacity;
  max_rows_ = std::max<size_t>(1, max_rows);
  dtype_ = dtype;
  knn_ = knn;
  if (knn_.backend != AttentionBackend::kFaiss) knn_.backend = AttentionBackend::kIce;
  heads_ = std::vector<Head>(plan.specs.size());
  for (size_t i = 0; i < heads_.size(); ++i) {
    Head& h = heads_[i];
    h.spec = plan.specs[i];
    const std::string who = "head plan, layer " + std::to_string(i / plan.n_kv_heads) + " head " +
                            std::to_string(i % plan.n_kv_heads) + ": ";
    size_t rows = 0;
    if (KeepsAll(h.spec.mode)) rows = capacity;
    if (h.spec.mode == HeadMode::kWindow) rows = RingRows(h.spec.window, max_rows_, capacity);
    if (rows > 0) FLOE_RETURN_IF_ERROR(h.kv.Init(1, 1, head_dim, rows, dtype));
    if (h.spec.mode == HeadMode::kKnn) {
      h.settings = knn_;
      h.settings.k = h.spec.k;
      h.settings.window = h.spec.window;
      h.settings.sinks = h.spec.sinks;
      h.settings.dci.seed = knn_.dci.seed ^ Mix(i);
      if (Status st = h.settings.Validate(capacity); !st.ok())
        return InvalidArgument(who + st.message());
      h.index = std::make_unique<KnnIndexSet>();
      FLOE_RETURN_IF_ERROR(h.index->Init(1, 1, head_dim, h.settings));
      h.shared.Init(1, 1, h.settings.search_block);
    }
  }
  const size_t group = n_heads / plan.n_kv_heads;
  return scratch_.Resize(2 * plan.n_kv_heads * max_rows_ * group * head_dim);
}

size_t PlannedAttention::bytes() const {
  size_t b = 0;
  for (const Head& h : heads_) {
    b += h.kv.bytes();
    if (h.index) b += h.index->bytes() + h.shared.bytes();
  }
  return b;
}

size_t PlannedAttention::bytes_at(size_t pos, size_t n) const {
  n = std::min(n, capacity_);
  size_t b = 0;
  for (const Head& h : heads_) {
    if (h.kv.n_layers() > 0) b += 2 * h.kv.prefix_bytes(std::min(n, h.kv.capacity()));
    if (!h.index) continue;
    const size_t held = h.index->bytes() + h.shared.bytes();
    const size_t per_key = pos > 0 && held > 0 ? held / pos + 1 : head_dim_ * sizeof(float);
    b += held + (n > pos ? (n - pos) * per_key : 0);
  }
  return b;
}

void PlannedAttention::Clear() {
  for (Head& h : heads_)
    if (h.index) {
      h.index->Clear();
      h.shared.Clear();
    }
}

void PlannedAttention::Store(size_t layer, size_t pos, const float* k, const float* v) {
  for (size_t g = 0; g < plan_.n_kv_heads; ++g) {
    Head& h = at(layer, g);
    const float* kg = k + g * head_dim_;
    const float* vg = v + g * head_dim_;
    if (KeepsAll(h.spec.mode))
      h.kv.Store(0, pos, kg, vg);
    else if (h.spec.mode == HeadMode::kWindow)
      h.kv.Store(0, pos % h.kv.capacity(), kg, vg);
  }
}

namespace {

// A knn head's IceAttention runs on a one-layer, one-head store and numbers its queries 0..G-1:
// this passes them on to the session's probe in the model's numbers.
class HeadProbe final : public AttentionProbe {
 public:
  HeadProbe(AttentionProbe* inner, size_t layer, size_t kv_head, size_t group)
      : inner_(inner), layer_(layer), kv_head_(kv_head), group_(group) {}
  bool Wants(size_t, size_t head, size_t position) const override {
    return inner_->Wants(layer_, kv_head_ * group_ + head, position);
  }
  void Record(const AttentionProbeEvent& e) override {
    AttentionProbeEvent m = e;  // cache_layer and cache_kv_head stay the store's (0, 0)
    m.layer = layer_;
    m.head = kv_head_ * group_ + e.head;
    m.kv_head = kv_head_;
    inner_->Record(m);
  }

 private:
  AttentionProbe* inner_;
  size_t layer_, kv_head_, group_;
};

}  // namespace

Status PlannedAttention::AttendHead(size_t layer, size_t kv_head, size_t n, size_t first_pos,
                                    const float* q, float* out, ThreadContext* threads) {
  Head& h = at(layer, kv_head);
  const size_t group = n_heads_ / plan_.n_kv_heads;
  switch (h.spec.mode) {
    case HeadMode::kDense: {
      DenseAttentionArgs a;
      a.cache = &h.kv;
      a.n_heads = group;
      a.n_tokens = n;
      a.first_pos = first_pos;
      a.q = q;
      a.out = out;
      DenseAttention(a, threads);
      return Status::Ok();
    }
    case HeadMode::kKnn: {
      // Keys and candidates an interrupted call left past first_pos are not this sequence's.
      FLOE_RETURN_IF_ERROR(h.index->Truncate(0, ice::IndexLimit(h.settings, first_pos)));
      h.shared.DropFrom(0, first_pos);
      IceAttentionArgs a;
      a.cache = &h.kv;
      a.index = h.index.get();
      a.settings = &h.settings;
      a.n_heads = group;
      a.n_tokens = n;
      a.first_pos = first_pos;
      a.q = q;
      a.out = out;
      a.scratch = &h.pool;
      a.shared = &h.shared;
      HeadProbe probe(probe_, layer, kv_head, group);
      if (probe_) a.probe = &probe;
      return IceAttention(a, threads);
    }
    case HeadMode::kWindow: {
      const size_t R = h.kv.capacity();
      for (size_t t = 0; t < n; ++t) {
        const size_t p = first_pos + t;
        const size_t c = std::min(h.spec.window, p + 1);
        const size_t first = (p + 1 - c) % R, last = p % R;  // ring slots of p - c + 1 and p
        h.slots.clear();
        if (first <= last) {
          for (size_t s = first; s <= last; ++s) h.slots.push_back(uint32_t(s));
        } else {  // wrapped: [0, last] then [first, R)
          for (size_t s = 0; s <= last; ++s) h.slots.push_back(uint32_t(s));
          for (size_t s = first; s < R; ++s) h.slots.push_back(uint32_t(s));
        }
        for (size_t g = 0; g < group; ++g)
          ice::SparseAttendOne(h.kv, 0, 0, q + (t * group + g) * head_dim_, h.slots, &h.scores,
                               out + (t * group + g) * head_dim_);
      }
      return Status::Ok();
    }
    case HeadMode::kRecurrent:
      std::fill(out, out + n * group * head_dim_, 0.0f);
      return Status::Ok();
  }
  return Internal("head plan: unknown head mode");
}

Status PlannedAttention::Attend(size_t layer, size_t n, size_t first_pos, const float* q,
                                float* out, ThreadContext* threads) {
  if (n > max_rows_)
    return Internal("planned attention: " + std::to_string(n) + " rows exceed " +
                    std::to_string(max_rows_));
  const size_t G = plan_.n_kv_heads, group = n_heads_ / G, gw = group * head_dim_;
  const size_t row = n_heads_ * head_dim_;
  // Each KV head's query rows side by side (n x group x head_dim), attended, scattered back.
  float* qs = scratch_.data();
  float* os = qs + G * max_rows_ * gw;
  for (size_t t = 0; t < n; ++t)
    for (size_t g = 0; g < G; ++g)
      std::memcpy(qs + (g * max_rows_ + t) * gw, q + t * row + g * gw, gw * sizeof(float));
  std::vector<Status> status(G);
  // Heads side by side when there are at least as many as threads, else one after the other
  // with each head's work spread over the threads.
  const bool across = threads && G >= size_t(threads->num_threads());
  auto run = [&](size_t g, ThreadContext* inner) {
    status[g] =
        AttendHead(layer, g, n, first_pos, qs + g * max_rows_ * gw, os + g * max_rows_ * gw, inner);
  };
  if (across) {
    threads->ParallelFor(G, 1, [&](size_t g0, size_t g1) {
      for (size_t g = g0; g < g1; ++g) run(g, nullptr);
    });
  } else {
    for (size_t g = 0; g < G; ++g) run(g, threads);
  }
  for (const Status& st : status) FLOE_RETURN_IF_ERROR(st);
  for (size_t t = 0; t < n; ++t)
    for (size_t g = 0; g < G; ++g)
      std::memcpy(out + t * row + g * gw, os + (g * max_rows_ + t) * gw, gw * sizeof(float));
  return Status::Ok();
}

std::vector<uint64_t> PlannedAttention::Shape() const {
  std::vector<uint64_t> s = {plan_.n_layers, plan_.n_kv_heads, head_dim_, uint64_t(dtype_)};
  for (const Head& h : heads_) {
    s.push_back(uint64_t(h.spec.mode));
    s.push_back(h.spec.mode == HeadMode::kKnn || h.spec.mode == HeadMode::kWindow ? h.spec.window
                                                                                  : 0);
    s.push_back(h.spec.mode == HeadMode::kKnn ? h.spec.k : 0);
    s.push_back(h.spec.mode == HeadMode::kKnn ? h.spec.sinks : 0);
  }
  return s;
}

void PlannedAttention::Save(size_t n, StateWriter& w) const {
  for (const Head& h : heads_) {
    if (KeepsAll(h.spec.mode)) {
      h.kv.SavePrefix(n, w);
    } else if (h.spec.mode == HeadMode::kWindow) {
      const size_t c = KeptPositions(h.spec, n), R = h.kv.capacity();
      for (size_t p = n - c; p < n; ++p) w.PutRaw(h.kv.Key(0, p % R, 0), h.kv.row_bytes());
      for (size_t p = n - c; p < n; ++p) w.PutRaw(h.kv.Value(0, p % R, 0), h.kv.row_bytes());
    }
  }
  for (const Head& h : heads_) {
    if (h.spec.mode != HeadMode::kKnn) continue;
    std::vector<uint8_t> blob;
    StateWriter bw(&blob, "candidates", {});
    const size_t header = blob.size();
    h.shared.Save(bw);
    w.PutU64(blob.size() - header);
    w.PutRaw(blob.data() + header, blob.size() - header);
  }
}

Status PlannedAttention::Restore(size_t n, StateReader& r) {
  FLOE_ASSIGN_OR_RETURN(const SavedHeadLayout own, ParseSavedHeadLayout(Shape()));
  return RestoreFromPlan(own, n, r);
}

size_t SavedHeadLayout::kept(size_t i, size_t n) const { return KeptPositions(specs[i], n); }

Status SavedHeadLayout::CheckShape(size_t layers, size_t kv_heads, size_t dim, DType type) const {
  if (n_layers != layers || n_kv_heads != kv_heads || head_dim != dim || dtype != type)
    return InvalidArgument(
        "session state was saved with a different model configuration or KV cache type");
  return Status::Ok();
}

Status SavedHeadLayout::CheckCovers(std::span<const HeadSpec> wanted, size_t n) const {
  for (size_t i = 0; i < specs.size() && i < wanted.size(); ++i) {
    const size_t need = KeptPositions(wanted[i], n);
    const bool recurrent_mismatch =
        (wanted[i].mode == HeadMode::kRecurrent) != (specs[i].mode == HeadMode::kRecurrent);
    if (kept(i, n) < need || recurrent_mismatch)
      return InvalidArgument(
          "session state: layer " + std::to_string(i / n_kv_heads) + " head " +
          std::to_string(i % n_kv_heads) + " was saved as " + specs[i].ToString() +
          ", which keeps the last " + std::to_string(kept(i, n)) + " of " + std::to_string(n) +
          " positions; this session's " + wanted[i].ToString() + " needs " +
          (recurrent_mismatch ? std::string("the same recurrent heads") : std::to_string(need)) +
          ": restore it into a session whose plan keeps no more for that head");
  }
  return Status::Ok();
}

Result<SavedHeadLayout> ParseSavedHeadLayout(std::span<const uint64_t> shape) {
  auto bad = [](const std::string& why) {
    return InvalidArgument("session state: head-plan layout " + why);
  };
  if (shape.size() < 4) return bad("is truncated");
  constexpr uint64_t kMax = uint64_t(1) << 32;
  for (uint64_t v : shape)
    if (v > kMax) return bad("holds a value beyond 2^32");
  SavedHeadLayout l;
  l.n_layers = size_t(shape[0]);
  l.n_kv_heads = size_t(shape[1]);
  l.head_dim = size_t(shape[2]);
  if (shape[3] != uint64_t(DType::kF32) && shape[3] != uint64_t(DType::kF16))
    return bad("has a cache type other than f32 or f16");
  l.dtype = DType(shape[3]);
  const size_t heads = (shape.size() - 4) / 4;  // no product of input values: no overflow
  if (l.n_layers == 0 || l.n_kv_heads == 0 || l.head_dim == 0 || (shape.size() - 4) % 4 != 0 ||
      heads % l.n_layers != 0 || heads / l.n_layers != l.n_kv_heads)
    return bad("does not match its layer and head counts");
  l.specs.resize(l.n_layers * l.n_kv_heads);
  for (size_t i = 0; i < l.specs.size(); ++i) {
    const uint64_t* f = shape.data() + 4 + 4 * i;
    if (f[0] > uint64_t(HeadMode::kRecurrent))
      return bad("names an unknown mode " + std::to_string(f[0]));
    HeadSpec& s = l.specs[i];
    s.mode = HeadMode(f[0]);
    s.window = size_t(f[1]);
    s.k = size_t(f[2]);
    s.sinks = size_t(f[3]);
    if (s.mode == HeadMode::kWindow && s.window == 0) return bad("has a window head of 0 keys");
  }
  return l;
}

Status ReadSavedHeads(const SavedHeadLayout& layout, size_t n, StateReader& r,
                      const SavedRowsSink& rows, const SavedCandidatesSink& candidates) {
  const size_t rb = layout.head_dim * DTypeSize(layout.dtype);
  std::vector<uint8_t> keys, values;
  for (size_t i = 0; i < layout.specs.size(); ++i) {
    const size_t c = layout.kept(i, n);
    if (c == 0) continue;
    if (r.remaining() / 2 / rb < c)
      return InvalidArgument("session state: truncated head-plan cache");
    keys.resize(c * rb);
    values.resize(c * rb);
    FLOE_RETURN_IF_ERROR(r.TakeRaw(keys.data(), keys.size(), "head keys"));
    FLOE_RETURN_IF_ERROR(r.TakeRaw(values.data(), values.size(), "head values"));
    if (rows)
      FLOE_RETURN_IF_ERROR(
          rows(i / layout.n_kv_heads, i % layout.n_kv_heads, n - c, c, keys.data(), values.data()));
  }
  std::vector<uint8_t> blob;
  for (size_t i = 0; i < layout.specs.size(); ++i) {
    if (layout.specs[i].mode != HeadMode::kKnn) continue;
    uint64_t len = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&len, r.remaining(), "candidates length"));
    blob.resize(len);
    FLOE_RETURN_IF_ERROR(r.TakeRaw(blob.data(), len, "candidates"));
    if (candidates) FLOE_RETURN_IF_ERROR(candidates(i, blob));
  }
  return r.Finish();
}

Status PlannedAttention::RestoreFromPlan(const SavedHeadLayout& saved, size_t n, StateReader& r) {
  if (n > capacity_) return InvalidArgument("session state: position exceeds the context");
  FLOE_RETURN_IF_ERROR(saved.CheckShape(plan_.n_layers, plan_.n_kv_heads, head_dim_, dtype_));
  FLOE_RETURN_IF_ERROR(saved.CheckCovers(plan_.specs, n));
  // The saved candidates rank what this plan's knn heads would only under the same layout.
  FLOE_ASSIGN_OR_RETURN(const SavedHeadLayout own, ParseSavedHeadLayout(Shape()));
  const bool same_layout = saved.specs == own.specs;
  PlannedAttention fresh;
  FLOE_RETURN_IF_ERROR(fresh.Init(plan_, n_heads_, head_dim_, capacity_, max_rows_, dtype_, knn_));
  const size_t rb = head_dim_ * DTypeSize(dtype_);
  FLOE_RETURN_IF_ERROR(ReadSavedHeads(
      saved, n, r,
      [&](size_t layer, size_t g, size_t first, size_t count, const uint8_t* k,
          const uint8_t* v) -> Status {
        Head& h = fresh.at(layer, g);
        for (size_t p = std::max(n - KeptPositions(h.spec, n), first); p < first + count; ++p)
          h.kv.StoreRows(0, p % h.kv.capacity(), 0, k + (p - first) * rb, v + (p - first) * rb);
        return Status::Ok();
      },
      same_layout ? SavedCandidatesSink([&](size_t i, std::span<const uint8_t> bytes) {
        return fresh.heads_[i].shared.Restore(bytes, n);
      })
                  : SavedCandidatesSink()));
  for (Head& h : fresh.heads_)
    if (h.index) FLOE_RETURN_IF_ERROR(h.index->Rebuild(h.kv, n, nullptr));
  heads_ = std::move(fresh.heads_);
  return Status::Ok();
}

Status PlannedAttention::RestoreFromDense(size_t n, StateReader& r) {
  if (n > capacity_) return InvalidArgument("session state: position exceeds the context");
  PlannedAttention fresh;
  FLOE_RETURN_IF_ERROR(fresh.Init(plan_, n_heads_, head_dim_, capacity_, max_rows_, dtype_, knn_));
  const size_t G = plan_.n_kv_heads, rb = head_dim_ * DTypeSize(dtype_);
  const size_t layer_bytes = n * G * rb;  // one layer's keys (or values), [pos][kv_head][dim]
  if (r.remaining() / 2 / plan_.n_layers < layer_bytes)
    return InvalidArgument("session state size does not match its position");
  std::vector<uint8_t> keys(layer_bytes), values(layer_bytes);
  for (size_t l = 0; l < plan_.n_layers; ++l) {
    FLOE_RETURN_IF_ERROR(r.TakeRaw(keys.data(), layer_bytes, "keys"));
    FLOE_RETURN_IF_ERROR(r.TakeRaw(values.data(), layer_bytes, "values"));
    for (size_t g = 0; g < G; ++g) {
      Head& h = fresh.at(l, g);
      for (size_t p = n - KeptPositions(h.spec, n); p < n; ++p)
        h.kv.StoreRows(0, p % h.kv.capacity(), 0, keys.data() + (p * G + g) * rb,
                       values.data() + (p * G + g) * rb);
    }
  }
  // What follows (a kNN session's shared candidates) belongs to the dense layout: dropped.
  for (Head& h : fresh.heads_)
    if (h.index) FLOE_RETURN_IF_ERROR(h.index->Rebuild(h.kv, n, nullptr));
  heads_ = std::move(fresh.heads_);
  return Status::Ok();
}

Status PlannedAttention::CopyFrom(const PlannedAttention& other, size_t n) {
  if (other.heads_.size() != heads_.size())
    return InvalidArgument("head plans differ; cannot copy");
  for (size_t i = 0; i < heads_.size(); ++i) {
    Head& h = heads_[i];
    const Head& o = other.heads_[i];
    if (!(h.spec == o.spec)) return InvalidArgument("head plans differ; cannot copy");
    if (KeepsAll(h.spec.mode)) FLOE_RETURN_IF_ERROR(h.kv.CopyPrefixFrom(o.kv, n));
    if (h.spec.mode == HeadMode::kWindow) {
      // Rings of equal size hold the same slots; else copy the window by position.
      for (size_t p = n - KeptPositions(h.spec, n); p < n; ++p)
        h.kv.StoreRows(0, p % h.kv.capacity(), 0, o.kv.Key(0, p % o.kv.capacity(), 0),
                       o.kv.Value(0, p % o.kv.capacity(), 0));
    }
    if (h.index) {
      FLOE_RETURN_IF_ERROR(h.index->CopyFrom(*o.index));
      h.shared = o.shared;
    }
  }
  return Status::Ok();
}

}  // namespace floe
