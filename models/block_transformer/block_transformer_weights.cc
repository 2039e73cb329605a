#include "models/block_transformer/block_transformer_weights.h"

#include <string>

namespace floe {

namespace {

class Binder {
 public:
  Binder(const TensorSet& set, const char* source, BlockTransformerWeights* w)
      : set_(set), source_(source), w_(w) {}

  Result<const NamedTensor*> Shaped(const std::string& name,
                                    const std::vector<std::vector<uint64_t>>& shapes,
                                    const std::string& why) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, set_.Get(name));
    for (const auto& s : shapes)
      if (t->shape == s) return t;
    return InvalidArgument("tensor '" + name + "' has shape " + ShapeText(t->shape) +
                           ", expected " + ShapeText(shapes[0]) + " (" + why + " from " + source_ +
                           ")");
  }

  Result<TensorView> Matrix(const std::string& name,
                            const std::vector<std::vector<uint64_t>>& shapes, size_t rows,
                            size_t cols, const std::string& why) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(name, shapes, why));
    TensorView v;
    v.dtype = t->dtype;
    v.data = t->data;
    v.rows = rows;
    v.cols = cols;
    if (cols % DTypeBlockElems(t->dtype) != 0)
      return Unsupported("tensor '" + name + "': " + std::to_string(cols) +
                         " columns are not a whole number of " + DTypeName(t->dtype) + " blocks");
    if (t->bytes != v.bytes())
      return CorruptData("tensor '" + name + "' holds " + std::to_string(t->bytes) +
                         " bytes, its shape and type need " + std::to_string(v.bytes()));
    w_->bytes += t->bytes;
    return v;
  }
  Result<TensorView> Matrix(const std::string& name, size_t rows, size_t cols,
                            const std::string& why) {
    return Matrix(name, {{rows, cols}}, rows, cols, why);
  }

  Result<const float*> Floats(const std::string& name, uint64_t n, const std::string& why) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(name, {{n}}, why));
    TensorView v;
    v.dtype = t->dtype;
    v.data = t->data;
    v.rows = 1;
    v.cols = n;
    if (IsQuantized(t->dtype) || t->bytes != v.bytes())
      return Unsupported("tensor '" + name + "' must be f32, f16 or bf16 (it is " +
                         DTypeName(t->dtype) + ", " + std::to_string(t->bytes) + " bytes)");
    w_->owned.emplace_back(new float[n]);
    float* out = w_->owned.back().get();
    ToF32(v, 0, n, out);
    w_->bytes += n * sizeof(float);
    return static_cast<const float*>(out);
  }

 private:
  const TensorSet& set_;
  std::string source_;
  BlockTransformerWeights* w_;
};

Status BindNeox(Binder& b, const TensorSet& set, const NeoxConfig& c, const std::string& stack,
                const char* source, NeoxWeights* w) {
  const uint64_t D = c.hidden, F = c.ffn;
  const std::string p = stack + ".gpt_neox.";
  const std::string dm = stack + " hidden_size " + std::to_string(D);
  const std::string fm = stack + " intermediate_size " + std::to_string(F);
  const std::string beyond = p + "layers." + std::to_string(c.layers) + ".input_layernorm.weight";
  if (set.Find(beyond))
    return InvalidArgument("checkpoint has tensor '" + beyond + "' but " + source + " gives the " +
                           stack + " " + std::to_string(c.layers) + " layers");
  w->layers.resize(c.layers);
  for (size_t l = 0; l < c.layers; ++l) {
    NeoxLayerWeights& L = w->layers[l];
    const std::string q = p + "layers." + std::to_string(l) + ".";
    FLOE_ASSIGN_OR_RETURN(L.ln1_w, b.Floats(q + "input_layernorm.weight", D, dm));
    FLOE_ASSIGN_OR_RETURN(L.ln1_b, b.Floats(q + "input_layernorm.bias", D, dm));
    FLOE_ASSIGN_OR_RETURN(L.ln2_w, b.Floats(q + "post_attention_layernorm.weight", D, dm));
    FLOE_ASSIGN_OR_RETURN(L.ln2_b, b.Floats(q + "post_attention_layernorm.bias", D, dm));
    FLOE_ASSIGN_OR_RETURN(L.qkv,
                          b.Matrix(q + "attention.query_key_value.weight", 3 * D, D, "3 x " + dm));
    FLOE_ASSIGN_OR_RETURN(L.qkv_b,
                          b.Floats(q + "attention.query_key_value.bias", 3 * D, "3 x " + dm));
    FLOE_ASSIGN_OR_RETURN(L.out, b.Matrix(q + "attention.dense.weight", D, D, dm));
    FLOE_ASSIGN_OR_RETURN(L.out_b, b.Floats(q + "attention.dense.bias", D, dm));
    FLOE_ASSIGN_OR_RETURN(L.up, b.Matrix(q + "mlp.dense_h_to_4h.weight", F, D, fm + ", " + dm));
    FLOE_ASSIGN_OR_RETURN(L.up_b, b.Floats(q + "mlp.dense_h_to_4h.bias", F, fm));
    FLOE_ASSIGN_OR_RETURN(L.down, b.Matrix(q + "mlp.dense_4h_to_h.weight", D, F, dm + ", " + fm));
    FLOE_ASSIGN_OR_RETURN(L.down_b, b.Floats(q + "mlp.dense_4h_to_h.bias", D, dm));
  }
  FLOE_ASSIGN_OR_RETURN(w->final_w, b.Floats(p + "final_layer_norm.weight", D, dm));
  FLOE_ASSIGN_OR_RETURN(w->final_b, b.Floats(p + "final_layer_norm.bias", D, dm));
  return Status::Ok();
}

}  // namespace

bool LooksLikeBlockTransformer(const TensorSet& tensors) {
  return tensors.Find("embedder.embeddings.weight") != nullptr &&
         tensors.Find("token_decoder.expansion_layer.weight") != nullptr;
}

Result<BlockTransformerNetwork> BindBlockTransformer(const BlockTransformerConfig& c,
                                                     const TensorSet& set, const char* source) {
  FLOE_RETURN_IF_ERROR(c.Validate());
  BlockTransformerNetwork net;
  net.config = c;
  BlockTransformerWeights& w = net.weights;
  Binder b(set, source, &w);
  const uint64_t V = c.vocab_size, E = c.embedder_dim, Db = c.block.hidden, Dt = c.token.hidden,
                 P = c.expansion_ratio;
  const std::string vs = "vocab_size " + std::to_string(V);
  FLOE_ASSIGN_OR_RETURN(w.lookup, b.Matrix("embedder.embeddings.weight", V, E,
                                           vs + " x embedder hidden_size " + std::to_string(E)));
  FLOE_RETURN_IF_ERROR(BindNeox(b, set, c.block, "block_decoder", source, &w.block));
  FLOE_RETURN_IF_ERROR(BindNeox(b, set, c.token, "token_decoder", source, &w.token));
  const std::string td = "token decoder hidden_size " + std::to_string(Dt);
  FLOE_ASSIGN_OR_RETURN(w.token_embed,
                        b.Matrix("token_decoder.gpt_neox.embed_in.weight", V, Dt, vs + " x " + td));
  FLOE_ASSIGN_OR_RETURN(w.head, b.Matrix("token_decoder.embed_out.weight", V, Dt, vs + " x " + td));
  const std::string ex = "expansion_ratio " + std::to_string(P) + " x " + td +
                         ", block decoder hidden_size " + std::to_string(Db);
  FLOE_ASSIGN_OR_RETURN(w.expand, b.Matrix("token_decoder.expansion_layer.weight",
                                           {{P * Dt, Db, 1}, {P * Dt, Db}}, P * Dt, Db, ex));
  FLOE_ASSIGN_OR_RETURN(w.expand_b, b.Floats("token_decoder.expansion_layer.bias", P * Dt, ex));
  return net;
}

}  // namespace floe
