#include "models/goldfinch/goldfinch_weights.h"

#include <algorithm>
#include <string>

namespace floe {

namespace {

// Binds the official tensors of one file: large matrices in place, vectors and LoRA matrices
// as owned F32.
class Binder {
 public:
  Binder(const TensorSet& set, GoldfinchWeights* w) : set_(set), w_(w) {}

  Result<const NamedTensor*> Shaped(const std::string& name,
                                    const std::vector<uint64_t>& shape) const {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, set_.Get(name));
    if (t->shape != shape)
      return InvalidArgument("tensor '" + name + "' has shape " + ShapeText(t->shape) +
                             ", expected " + ShapeText(shape));
    return t;
  }

  Result<TensorView> Matrix(const std::string& name, size_t rows, size_t cols) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(name, {rows, cols}));
    w_->bytes += t->bytes;
    return ViewOf(*t, rows, cols);
  }

  // A vector of n values: shape (n) or (1, 1, n) as the official parameters are.
  Result<const float*> Vector(const std::string& name, size_t n) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, set_.Get(name));
    const bool ok =
        t->shape == std::vector<uint64_t>{n} || t->shape == std::vector<uint64_t>{1, 1, n};
    if (!ok)
      return InvalidArgument("tensor '" + name + "' has shape " + ShapeText(t->shape) +
                             ", expected (" + std::to_string(n) + ") or (1, 1, " +
                             std::to_string(n) + ")");
    float* dst = Own(n);
    ToF32(ViewOf(*t, 1, n), 0, n, dst);
    return dst;
  }

  float* Owned(const NamedTensor& t) {
    float* dst = Own(t.elements());
    ToF32(ViewOf(t, 1, t.elements()), 0, t.elements(), dst);
    return dst;
  }

  // Slab `index` of a tensor of stacked [in x out] matrices, as an owned [out x in] matrix.
  Result<TensorView> Lora(const NamedTensor& t, size_t index, size_t in, size_t out) {
    const size_t n = in * out;
    std::unique_ptr<float[]> tmp(new float[n]);
    ToF32(ViewOf(t, 1, t.elements()), index * n, n, tmp.get());
    float* dst = Own(n);
    for (size_t r = 0; r < in; ++r)
      for (size_t c = 0; c < out; ++c) dst[c * in + r] = tmp[r * out + c];
    TensorView v;
    v.data = dst;
    v.rows = out;
    v.cols = in;
    return v;
  }

  Result<TensorView> Lora2(const std::string& name, size_t in, size_t out) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(name, {in, out}));
    return Lora(*t, 0, in, out);
  }

  // The rank of a 2-D LoRA tensor (in, rank), checking the input size.
  Result<size_t> Rank(const std::string& name, size_t in, size_t multiple) const {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, set_.Get(name));
    if (t->shape.size() != 2 || t->shape[0] != in || t->shape[1] % multiple != 0 ||
        t->shape[1] == 0)
      return InvalidArgument("tensor '" + name + "' has shape " + ShapeText(t->shape) +
                             ", expected (" + std::to_string(in) + ", a positive multiple of " +
                             std::to_string(multiple) + ")");
    return size_t(t->shape[1] / multiple);
  }

 private:
  float* Own(size_t n) {
    w_->owned.emplace_back(new float[n]);
    w_->bytes += n * sizeof(float);
    return w_->owned.back().get();
  }
  const TensorSet& set_;
  GoldfinchWeights* w_;
};

Status Need(bool ok, const std::string& what) { return ok ? Status::Ok() : InvalidArgument(what); }

Status BindFinchC2(Binder& b, const std::string& a, const GoldfinchConfig& c, FinchC2Weights* f) {
  const size_t C = c.n_embd, R = c.lora_mix;
  FLOE_ASSIGN_OR_RETURN(f->maa_x, b.Vector(a + "time_maa_x", C));
  FLOE_ASSIGN_OR_RETURN(f->maa_r, b.Vector(a + "time_maa_r", C));
  FLOE_ASSIGN_OR_RETURN(f->maa_k, b.Vector(a + "time_maa_k", C));
  FLOE_ASSIGN_OR_RETURN(f->maa_v, b.Vector(a + "time_maa_v", C));
  FLOE_ASSIGN_OR_RETURN(f->maa_w, b.Vector(a + "time_maa_w", C));
  FLOE_ASSIGN_OR_RETURN(f->maa_v2, b.Vector(a + "time_maa_v2", C));
  FLOE_ASSIGN_OR_RETURN(f->maa_w1, b.Lora2(a + "time_maa_w1", C, 5 * R));
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* w2, b.Shaped(a + "time_maa_w2", {5, R, C}));
  for (size_t i = 0; i < 5; ++i) {
    FLOE_ASSIGN_OR_RETURN(f->maa_w2[i], b.Lora(*w2, i, R, C));
  }
  FLOE_ASSIGN_OR_RETURN(f->decay, b.Vector(a + "time_decay", C));
  FLOE_ASSIGN_OR_RETURN(f->decay_w1, b.Lora2(a + "time_decay_w1", C, c.lora_decay));
  FLOE_ASSIGN_OR_RETURN(f->decay_w2, b.Lora2(a + "time_decay_w2", c.lora_decay, C));
  FLOE_ASSIGN_OR_RETURN(f->value2_w1, b.Lora2(a + "time_value2_w1", C, c.lora_value2));
  FLOE_ASSIGN_OR_RETURN(f->value2_w2, b.Lora2(a + "time_value2_w2", c.lora_value2, C));
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* u, b.Shaped(a + "time_faaaa", {c.n_head, c.head_size}));
  f->bonus = b.Owned(*u);
  FLOE_ASSIGN_OR_RETURN(f->receptance, b.Matrix(a + "receptance.weight", C, C));
  FLOE_ASSIGN_OR_RETURN(f->key, b.Matrix(a + "key.weight", C, C));
  FLOE_ASSIGN_OR_RETURN(f->value, b.Matrix(a + "value.weight", C, C));
  FLOE_ASSIGN_OR_RETURN(f->output, b.Matrix(a + "output.weight", C, C));
  FLOE_ASSIGN_OR_RETURN(f->ln_x_w, b.Vector(a + "ln_x.weight", C));
  FLOE_ASSIGN_OR_RETURN(f->ln_x_b, b.Vector(a + "ln_x.bias", C));
  return Status::Ok();
}

Status BindGold(Binder& b, const std::string& a, const GoldfinchConfig& c, GoldWeights* g) {
  const size_t C = c.n_embd, R = c.gold_lora_mix, Rk = c.gold_lora_value;
  FLOE_ASSIGN_OR_RETURN(g->maa_x, b.Vector(a + "time_maa_x", C));
  FLOE_ASSIGN_OR_RETURN(g->maa_q, b.Vector(a + "time_maa_q", C));
  FLOE_ASSIGN_OR_RETURN(g->maa_v_cache, b.Vector(a + "time_maa_v_cache", C));
  FLOE_ASSIGN_OR_RETURN(g->maa_k, b.Vector(a + "time_maa_k", C));
  FLOE_ASSIGN_OR_RETURN(g->maa_v, b.Vector(a + "time_maa_v", C));
  FLOE_ASSIGN_OR_RETURN(g->q_w1, b.Lora2(a + "time_maa_q_w1", C, R));
  FLOE_ASSIGN_OR_RETURN(g->q_w2, b.Lora2(a + "time_maa_q_w2", R, C));
  FLOE_ASSIGN_OR_RETURN(g->kv_w1, b.Lora2(a + "time_maa_kv_w1", C, 2 * R));
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* kv2, b.Shaped(a + "time_maa_kv_w2", {2, R, C}));
  for (size_t i = 0; i < 2; ++i) {
    FLOE_ASSIGN_OR_RETURN(g->kv_w2[i], b.Lora(*kv2, i, R, C));
  }
  FLOE_ASSIGN_OR_RETURN(g->key_w1, b.Lora2(a + "time_key_w1", C, Rk));
  FLOE_ASSIGN_OR_RETURN(g->key_w2, b.Lora2(a + "time_key_w2", Rk, C));
  FLOE_ASSIGN_OR_RETURN(g->value_w1, b.Lora2(a + "time_value_w1", C, Rk));
  FLOE_ASSIGN_OR_RETURN(g->value_w2, b.Lora2(a + "time_value_w2", Rk, C));
  FLOE_ASSIGN_OR_RETURN(g->query, b.Matrix(a + "query.weight", C, C));
  FLOE_ASSIGN_OR_RETURN(g->output, b.Matrix(a + "output.weight", C, C));
  FLOE_ASSIGN_OR_RETURN(g->ln_q_w, b.Vector(a + "ln_q.weight", C));
  FLOE_ASSIGN_OR_RETURN(g->ln_q_b, b.Vector(a + "ln_q.bias", C));
  FLOE_ASSIGN_OR_RETURN(g->ln_k_w, b.Vector(a + "ln_k.weight", C));
  FLOE_ASSIGN_OR_RETURN(g->ln_k_b, b.Vector(a + "ln_k.bias", C));
  FLOE_ASSIGN_OR_RETURN(g->ln_v_w, b.Vector(a + "ln_v.weight", C));
  FLOE_ASSIGN_OR_RETURN(g->ln_v_b, b.Vector(a + "ln_v.bias", C));
  FLOE_ASSIGN_OR_RETURN(g->ln_x_w, b.Vector(a + "ln_x.weight", C));
  FLOE_ASSIGN_OR_RETURN(g->ln_x_b, b.Vector(a + "ln_x.bias", C));
  return Status::Ok();
}

}  // namespace

bool LooksLikeGoldfinch(const TensorSet& tensors) {
  return tensors.Find("w_kv_cache_a.weight") != nullptr &&
         tensors.Find("blocks.0.att.time_maa_x") != nullptr;
}

Result<GoldfinchNetwork> BindGoldfinch(const TensorSet& set, const MetadataView* json) {
  GoldfinchNetwork net;
  GoldfinchConfig& c = net.config;
  GoldfinchWeights& w = net.weights;
  Binder b(set, &w);
  // Shapes that define the config.
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* emb, set.Get("emb.weight"));
  FLOE_RETURN_IF_ERROR(
      Need(emb->shape.size() == 2,
           "tensor 'emb.weight' must be (vocab, n_embd), got " + ShapeText(emb->shape)));
  c.vocab_size = emb->shape[0];
  c.n_embd = emb->shape[1];
  // Layers: one past the highest block index any tensor names (a missing tensor of the last
  // block is then reported, never a shorter model).
  for (const NamedTensor& t : set.tensors) {
    if (t.name.rfind("blocks.", 0) != 0) continue;
    size_t i = 7, l = 0;
    while (i < t.name.size() && i < 12 && t.name[i] >= '0' && t.name[i] <= '9')
      l = l * 10 + size_t(t.name[i++] - '0');
    if (i == 7 || i >= t.name.size() || t.name[i] != '.') continue;
    if (l >= 4096) return InvalidArgument("tensor '" + t.name + "': block index out of range");
    c.n_layer = std::max(c.n_layer, l + 1);
  }
  c.first_gold_layer = c.n_layer;
  for (size_t l = 0; l < c.n_layer; ++l)
    if (set.Find("blocks." + std::to_string(l) + ".att.time_maa_q")) {
      c.first_gold_layer = l;
      break;
    }
  if (c.first_gold_layer < 1 || c.first_gold_layer >= c.n_layer)
    return InvalidArgument(
        "goldfinch.first_gold_layer " + std::to_string(c.first_gold_layer) +
        " (the first block with att.time_maa_q) is out of range: " + std::to_string(c.n_layer) +
        " blocks need at least one Finch-C2 layer before the GOLD layers and one GOLD layer");
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* u, set.Get("blocks.0.att.time_faaaa"));
  FLOE_RETURN_IF_ERROR(Need(
      u->shape.size() == 2,
      "tensor 'blocks.0.att.time_faaaa' must be (n_head, head_size), got " + ShapeText(u->shape)));
  c.n_head = u->shape[0];
  c.head_size = u->shape[1];
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* fk, set.Get("blocks.0.ffn.key.weight"));
  FLOE_RETURN_IF_ERROR(
      Need(fk->shape.size() == 2,
           "tensor 'blocks.0.ffn.key.weight' must be 2-D, got " + ShapeText(fk->shape)));
  c.dim_ffn = fk->shape[0];
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* ka, set.Get("w_kv_cache_a.weight"));
  FLOE_RETURN_IF_ERROR(
      Need(ka->shape.size() == 2,
           "tensor 'w_kv_cache_a.weight' must be 2-D, got " + ShapeText(ka->shape)));
  c.kv_a_dim = ka->shape[0];
  const size_t C = c.n_embd;
  FLOE_ASSIGN_OR_RETURN(c.lora_mix, b.Rank("blocks.0.att.time_maa_w1", C, 5));
  FLOE_ASSIGN_OR_RETURN(c.lora_decay, b.Rank("blocks.0.att.time_decay_w1", C, 1));
  FLOE_ASSIGN_OR_RETURN(c.lora_value2, b.Rank("blocks.0.att.time_value2_w1", C, 1));
  if (c.first_gold_layer < c.n_layer) {
    const std::string g = "blocks." + std::to_string(c.first_gold_layer) + ".att.";
    FLOE_ASSIGN_OR_RETURN(c.gold_lora_mix, b.Rank(g + "time_maa_q_w1", C, 1));
    FLOE_ASSIGN_OR_RETURN(c.gold_lora_value, b.Rank(g + "time_key_w1", C, 1));
  }
  if (json != nullptr) FLOE_RETURN_IF_ERROR(ApplyGoldfinchJson(*json, &c));
  FLOE_RETURN_IF_ERROR(c.Validate());
  const size_t F = c.dim_ffn, V = c.vocab_size, A = c.kv_a_dim;

  FLOE_ASSIGN_OR_RETURN(w.emb, b.Matrix("emb.weight", V, C));
  FLOE_ASSIGN_OR_RETURN(w.ln0_w, b.Vector("blocks.0.ln0.weight", C));
  FLOE_ASSIGN_OR_RETURN(w.ln0_b, b.Vector("blocks.0.ln0.bias", C));
  FLOE_ASSIGN_OR_RETURN(w.ln_out_w, b.Vector("ln_out.weight", C));
  FLOE_ASSIGN_OR_RETURN(w.ln_out_b, b.Vector("ln_out.bias", C));
  FLOE_ASSIGN_OR_RETURN(w.head, b.Matrix("head.weight", V, C));
  FLOE_ASSIGN_OR_RETURN(w.kv_cache_a, b.Matrix("w_kv_cache_a.weight", A, C));
  FLOE_ASSIGN_OR_RETURN(w.kv_cache_b, b.Matrix("w_kv_cache_b.weight", C, C + A));
  w.layers.resize(c.n_layer);
  for (size_t l = 0; l < c.n_layer; ++l) {
    GoldfinchLayerWeights& L = w.layers[l];
    const std::string p = "blocks." + std::to_string(l) + ".";
    FLOE_ASSIGN_OR_RETURN(L.ln1_w, b.Vector(p + "ln1.weight", C));
    FLOE_ASSIGN_OR_RETURN(L.ln1_b, b.Vector(p + "ln1.bias", C));
    FLOE_ASSIGN_OR_RETURN(L.ln2_w, b.Vector(p + "ln2.weight", C));
    FLOE_ASSIGN_OR_RETURN(L.ln2_b, b.Vector(p + "ln2.bias", C));
    const bool gold = l >= c.first_gold_layer;
    // A GOLD tensor in a Finch-C2 layer (or the reverse) means the layer split is not the
    // one the config describes.
    const char* foreign = gold ? "att.time_decay" : "att.query.weight";
    if (set.Find(p + foreign))
      return InvalidArgument(
          "tensor '" + p + foreign + "' belongs to a " + (gold ? "Finch-C2" : "GOLD") +
          " layer, but layer " + std::to_string(l) + " is a " + (gold ? "GOLD" : "Finch-C2") +
          " layer (first GOLD layer " + std::to_string(c.first_gold_layer) + ")");
    if (gold)
      FLOE_RETURN_IF_ERROR(BindGold(b, p + "att.", c, &L.gold));
    else
      FLOE_RETURN_IF_ERROR(BindFinchC2(b, p + "att.", c, &L.finch));
    const std::string f = p + "ffn.";
    FLOE_ASSIGN_OR_RETURN(L.ffn_maa_k, b.Vector(f + "time_maa_k", C));
    FLOE_ASSIGN_OR_RETURN(L.ffn_maa_r, b.Vector(f + "time_maa_r", C));
    FLOE_ASSIGN_OR_RETURN(L.ffn_key, b.Matrix(f + "key.weight", F, C));
    FLOE_ASSIGN_OR_RETURN(L.ffn_receptance, b.Matrix(f + "receptance.weight", C, C));
    FLOE_ASSIGN_OR_RETURN(L.ffn_value, b.Matrix(f + "value.weight", C, F));
  }
  return net;
}

}  // namespace floe
