#include "models/transnormer/transnormer_weights.h"

#include <string>

namespace floe {

namespace {

// A tensor of exactly `shape`, in f32, f16 or bf16 (or, where `quantized_ok`, a quantized type:
// the matrices, multiplied with MatVec / MatMul, and the embedding rows).
Result<const NamedTensor*> Shaped(const TensorSet& set, const std::string& name,
                                  const std::vector<uint64_t>& shape, bool quantized_ok = false) {
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, set.Get(name));
  if (t->shape != shape)
    return InvalidArgument("tensor '" + name + "' has shape " + ShapeText(t->shape) +
                           ", expected " + ShapeText(shape) + " (from config.json)");
  const bool is_float =
      t->dtype == DType::kF32 || t->dtype == DType::kF16 || t->dtype == DType::kBF16;
  if (!is_float && !(quantized_ok && IsQuantized(t->dtype)))
    return Unsupported("tensor '" + name + "': only F32, F16 and BF16 weights are supported" +
                       (quantized_ok ? " (or quantized)" : " for it"));
  return t;
}

Result<TensorView> Matrix(const TensorSet& set, const std::string& name, size_t rows, size_t cols,
                          size_t* bytes) {
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(set, name, {rows, cols}, true));
  *bytes += t->bytes;
  return ViewOf(*t, rows, cols);
}

}  // namespace

bool LooksLikeTransnormer(const TensorSet& tensors) {
  return tensors.Find("model.layers.0.token_mixer.qkvu_proj.weight") != nullptr;
}

Result<TransnormerNetwork> BindTransnormer(const TransnormerConfig& c, const TensorSet& set) {
  FLOE_RETURN_IF_ERROR(c.Validate());
  TransnormerNetwork net;
  net.config = c;
  TransnormerWeights& w = net.weights;
  const size_t V = c.vocab_size, D = c.embed_dim, Hd = c.hidden_dim, G = c.glu_dim, H = c.n_heads;
  FLOE_ASSIGN_OR_RETURN(w.embed, Matrix(set, "model.embed_tokens.weight", V, D, &w.bytes));
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed;  // HF ties lm_head to the embedding; a stored copy is ignored
  } else {
    FLOE_ASSIGN_OR_RETURN(w.lm_head, Matrix(set, "lm_head.weight", V, D, &w.bytes));
  }
  const std::string beyond =
      "model.layers." + std::to_string(c.n_layers) + ".token_mixer.qkvu_proj.weight";
  if (set.Find(beyond))
    return InvalidArgument("checkpoint has tensor '" + beyond +
                           "' but config.json says decoder_layers = " + std::to_string(c.n_layers));
  w.layers.resize(c.n_layers);
  for (size_t l = 0; l < c.n_layers; ++l) {
    TransnormerLayerWeights& L = w.layers[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    FLOE_ASSIGN_OR_RETURN(L.qkvu,
                          Matrix(set, p + "token_mixer.qkvu_proj.weight", 4 * Hd, D, &w.bytes));
    FLOE_ASSIGN_OR_RETURN(L.out, Matrix(set, p + "token_mixer.out_proj.weight", D, Hd, &w.bytes));
    FLOE_ASSIGN_OR_RETURN(L.l1, Matrix(set, p + "channel_mixer.l1.weight", G, D, &w.bytes));
    FLOE_ASSIGN_OR_RETURN(L.l2, Matrix(set, p + "channel_mixer.l2.weight", G, D, &w.bytes));
    FLOE_ASSIGN_OR_RETURN(L.l3, Matrix(set, p + "channel_mixer.l3.weight", D, G, &w.bytes));
    const std::string theta_name = p + "token_mixer.lrpe.theta";
    if (!c.lrpe[l]) {
      if (set.Find(theta_name))
        return InvalidArgument("checkpoint has tensor '" + theta_name +
                               "' but linear_use_lrpe_list[" + std::to_string(l) +
                               "] is 0 in config.json");
      continue;
    }
    // Lrpe(num_heads=H, embed_dim=D/H): theta has shape (H, 1, D/H); Validate ensured D == Hd.
    const size_t dh = c.head_dim();
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* theta, Shaped(set, theta_name, {H, 1, dh}));
    w.owned.emplace_back(new float[H * dh]);
    TensorView tv;
    tv.dtype = theta->dtype;
    tv.data = theta->data;
    tv.rows = 1;
    tv.cols = H * dh;
    ToF32(tv, 0, H * dh, w.owned.back().get());
    L.theta = w.owned.back().get();
    w.bytes += H * dh * sizeof(float);
  }
  return net;
}

}  // namespace floe
