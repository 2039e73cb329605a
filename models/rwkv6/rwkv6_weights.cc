#include "models/rwkv6/rwkv6_weights.h"

#include <string>

namespace floe {

namespace {

// Binds tensors of one file, converting small ones to owned F32.
class Binder {
 public:
  Binder(const TensorSet& set, Rwkv6Weights* w) : set_(set), w_(w) {}

  Result<const NamedTensor*> Get(const std::string& name) const { return set_.Get(name); }

  // A tensor whose shape must be exactly `shape`.
  Result<const NamedTensor*> Shaped(const std::string& name,
                                    const std::vector<uint64_t>& shape) const {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Get(name));
    if (t->shape != shape)
      return InvalidArgument("tensor '" + name + "' has shape " + ShapeText(t->shape) +
                             ", expected " + ShapeText(shape));
    return t;
  }

  // A large matrix [rows x cols], used in place.
  Result<TensorView> Matrix(const std::string& name, size_t rows, size_t cols) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(name, {rows, cols}));
    w_->bytes += t->bytes;
    return ViewOf(*t, rows, cols);
  }

  // Any tensor with exactly n elements (whatever its shape), as an owned F32 vector.
  Result<const float*> Vector(const std::string& name, size_t n) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Get(name));
    if (t->elements() != n)
      return InvalidArgument("tensor '" + name + "' has shape " + ShapeText(t->shape) + " (" +
                             std::to_string(t->elements()) + " values), expected " +
                             std::to_string(n));
    float* dst = Own(n);
    ToF32(ViewOf(*t, 1, n), 0, n, dst);
    return dst;
  }

  // An owned F32 [rows x cols] matrix taken from a tensor holding `count` stacked matrices of
  // src_rows x src_cols (slab `index`), transposed when `transpose`.
  Result<TensorView> LoraSlab(const NamedTensor& t, size_t index, size_t src_rows, size_t src_cols,
                              bool transpose) {
    const size_t n = src_rows * src_cols;
    std::unique_ptr<float[]> tmp(new float[n]);
    ToF32(ViewOf(t, 1, t.elements()), index * n, n, tmp.get());
    const size_t rows = transpose ? src_cols : src_rows, cols = transpose ? src_rows : src_cols;
    float* dst = Own(n);
    for (size_t r = 0; r < src_rows; ++r)
      for (size_t c = 0; c < src_cols; ++c)
        (transpose ? dst[c * src_rows + r] : dst[r * src_cols + c]) = tmp[r * src_cols + c];
    w_->bytes += n * sizeof(float);
    TensorView v;
    v.data = dst;
    v.rows = rows;
    v.cols = cols;
    return v;
  }

 private:
  float* Own(size_t n) {
    w_->owned.emplace_back(new float[n]);
    w_->bytes += n * sizeof(float);
    return w_->owned.back().get();
  }
  const TensorSet& set_;
  Rwkv6Weights* w_;
};

Status Require(bool ok, const std::string& what) {
  return ok ? Status::Ok() : InvalidArgument(what);
}

}  // namespace

Status Rwkv6Config::Validate() const {
  if (vocab_size == 0 || n_embd == 0 || n_layer == 0 || dim_ffn == 0 || head_size == 0 ||
      n_head == 0 || lora_mix == 0 || lora_decay == 0)
    return InvalidArgument("RWKV-6 hyperparameters must all be positive");
  if (n_head * head_size != n_embd)
    return InvalidArgument("RWKV-6: " + std::to_string(n_head) + " heads x " +
                           std::to_string(head_size) + " != n_embd " + std::to_string(n_embd));
  if (n_embd > (1u << 16) || dim_ffn > (1u << 20) || n_layer > 1024 || head_size > 1024)
    return InvalidArgument("RWKV-6 hyperparameters are implausibly large");
  return Status::Ok();
}

bool LooksLikeRwkv6(const TensorSet& tensors) {
  return tensors.Find("blocks.0.att.time_maa_x") != nullptr;
}

Result<Rwkv6Network> BindRwkv6(const TensorSet& set, Rwkv6Layout layout) {
  const bool official = layout == Rwkv6Layout::kOfficial;
  Rwkv6Network net;
  Rwkv6Config& c = net.config;
  Rwkv6Weights& w = net.weights;
  Binder b(set, &w);
  // Shapes that define the config.
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* emb, b.Get("emb.weight"));
  FLOE_RETURN_IF_ERROR(
      Require(emb->shape.size() == 2,
              "tensor 'emb.weight' must be 2-D (vocab, n_embd), got " + ShapeText(emb->shape)));
  c.vocab_size = emb->shape[0];
  c.n_embd = emb->shape[1];
  while (set.Find("blocks." + std::to_string(c.n_layer) + ".ln1.weight")) ++c.n_layer;
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* u, b.Get("blocks.0.att.time_faaaa"));
  FLOE_RETURN_IF_ERROR(Require(
      u->shape.size() >= 2,
      "tensor 'blocks.0.att.time_faaaa' must be (n_head, head_size), got " + ShapeText(u->shape)));
  c.n_head = u->shape[0];
  c.head_size = u->shape[1];
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* fk, b.Get("blocks.0.ffn.key.weight"));
  FLOE_RETURN_IF_ERROR(
      Require(fk->shape.size() == 2, "tensor 'blocks.0.ffn.key.weight' must be 2-D"));
  c.dim_ffn = fk->shape[0];
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* w1, b.Get("blocks.0.att.time_maa_w1"));
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* d1, b.Get("blocks.0.att.time_decay_w1"));
  FLOE_RETURN_IF_ERROR(Require(w1->shape.size() == 2 && d1->shape.size() == 2,
                               "LoRA tensors time_maa_w1 / time_decay_w1 must be 2-D"));
  c.lora_mix = (official ? w1->shape[1] : w1->shape[0]) / 5;
  c.lora_decay = official ? d1->shape[1] : d1->shape[0];
  FLOE_RETURN_IF_ERROR(c.Validate());
  const size_t C = c.n_embd, F = c.dim_ffn, R = c.lora_mix, Rd = c.lora_decay, V = c.vocab_size;

  FLOE_ASSIGN_OR_RETURN(w.emb, b.Matrix("emb.weight", V, C));
  FLOE_ASSIGN_OR_RETURN(w.ln0_w, b.Vector("blocks.0.ln0.weight", C));
  FLOE_ASSIGN_OR_RETURN(w.ln0_b, b.Vector("blocks.0.ln0.bias", C));
  FLOE_ASSIGN_OR_RETURN(w.ln_out_w, b.Vector("ln_out.weight", C));
  FLOE_ASSIGN_OR_RETURN(w.ln_out_b, b.Vector("ln_out.bias", C));
  FLOE_ASSIGN_OR_RETURN(w.head, b.Matrix("head.weight", V, C));
  w.layers.resize(c.n_layer);
  for (size_t l = 0; l < c.n_layer; ++l) {
    Rwkv6LayerWeights& L = w.layers[l];
    const std::string p = "blocks." + std::to_string(l) + ".";
    FLOE_ASSIGN_OR_RETURN(L.ln1_w, b.Vector(p + "ln1.weight", C));
    FLOE_ASSIGN_OR_RETURN(L.ln1_b, b.Vector(p + "ln1.bias", C));
    FLOE_ASSIGN_OR_RETURN(L.ln2_w, b.Vector(p + "ln2.weight", C));
    FLOE_ASSIGN_OR_RETURN(L.ln2_b, b.Vector(p + "ln2.bias", C));
    const std::string a = p + "att.";
    FLOE_ASSIGN_OR_RETURN(L.maa_x, b.Vector(a + "time_maa_x", C));
    FLOE_ASSIGN_OR_RETURN(L.maa_w, b.Vector(a + "time_maa_w", C));
    FLOE_ASSIGN_OR_RETURN(L.maa_k, b.Vector(a + "time_maa_k", C));
    FLOE_ASSIGN_OR_RETURN(L.maa_v, b.Vector(a + "time_maa_v", C));
    FLOE_ASSIGN_OR_RETURN(L.maa_r, b.Vector(a + "time_maa_r", C));
    FLOE_ASSIGN_OR_RETURN(L.maa_g, b.Vector(a + "time_maa_g", C));
    // LoRA matrices, bound as [out x in].
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* mw1, official
                                                      ? b.Shaped(a + "time_maa_w1", {C, 5 * R})
                                                      : b.Shaped(a + "time_maa_w1", {5 * R, C}));
    FLOE_ASSIGN_OR_RETURN(L.maa_w1, official ? b.LoraSlab(*mw1, 0, C, 5 * R, true)
                                             : b.LoraSlab(*mw1, 0, 5 * R, C, false));
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* mw2, official
                                                      ? b.Shaped(a + "time_maa_w2", {5, R, C})
                                                      : b.Shaped(a + "time_maa_w2", {5, C, R}));
    for (size_t i = 0; i < 5; ++i) {
      FLOE_ASSIGN_OR_RETURN(L.maa_w2[i], official ? b.LoraSlab(*mw2, i, R, C, true)
                                                  : b.LoraSlab(*mw2, i, C, R, false));
    }
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* dw1, official
                                                      ? b.Shaped(a + "time_decay_w1", {C, Rd})
                                                      : b.Shaped(a + "time_decay_w1", {Rd, C}));
    FLOE_ASSIGN_OR_RETURN(L.decay_w1, official ? b.LoraSlab(*dw1, 0, C, Rd, true)
                                               : b.LoraSlab(*dw1, 0, Rd, C, false));
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* dw2, official
                                                      ? b.Shaped(a + "time_decay_w2", {Rd, C})
                                                      : b.Shaped(a + "time_decay_w2", {C, Rd}));
    FLOE_ASSIGN_OR_RETURN(L.decay_w2, official ? b.LoraSlab(*dw2, 0, Rd, C, true)
                                               : b.LoraSlab(*dw2, 0, C, Rd, false));
    FLOE_ASSIGN_OR_RETURN(L.decay, b.Vector(a + "time_decay", C));
    FLOE_ASSIGN_OR_RETURN(L.bonus, b.Vector(a + "time_faaaa", C));
    FLOE_ASSIGN_OR_RETURN(L.receptance, b.Matrix(a + "receptance.weight", C, C));
    FLOE_ASSIGN_OR_RETURN(L.key, b.Matrix(a + "key.weight", C, C));
    FLOE_ASSIGN_OR_RETURN(L.value, b.Matrix(a + "value.weight", C, C));
    FLOE_ASSIGN_OR_RETURN(L.gate, b.Matrix(a + "gate.weight", C, C));
    FLOE_ASSIGN_OR_RETURN(L.output, b.Matrix(a + "output.weight", C, C));
    FLOE_ASSIGN_OR_RETURN(L.ln_x_w, b.Vector(a + "ln_x.weight", C));
    FLOE_ASSIGN_OR_RETURN(L.ln_x_b, b.Vector(a + "ln_x.bias", C));
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
