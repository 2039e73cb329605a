#include "models/block_transformer/block_transformer_random.h"

#include <cmath>

#include "models/random_tensors.h"

namespace floe {

Result<std::unique_ptr<RandomBlockTransformer>> MakeRandomBlockTransformer(
    const BlockTransformerConfig& c, uint64_t seed, DType dtype) {
  FLOE_RETURN_IF_ERROR(c.Validate());
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16)
    return InvalidArgument("random Block Transformer: dtype must be f32, f16 or bf16");
  auto out = std::make_unique<RandomBlockTransformer>();
  out->config = c;
  SplitMix64 rng(seed);
  const float kStd = 0.02f, kUniform = kStd * 1.7320508f;  // U(-a, a) has std a / sqrt(3)
  auto add = [&](const std::string& name, std::vector<uint64_t> shape, DType type, auto gen) {
    AppendGeneratedTensor(&out->tensors, &out->storage, name, std::move(shape), type, gen);
  };
  auto matrix = [&](const std::string& name, uint64_t rows, uint64_t cols, float bound) {
    add(name, {rows, cols}, dtype, [&](size_t) { return rng.Symmetric(bound); });
  };
  auto vec = [&](const std::string& name, uint64_t n, float base, float spread) {
    add(name, {n}, DType::kF32, [&](size_t) { return base + rng.Symmetric(spread); });
  };
  const uint64_t V = c.vocab_size, E = c.embedder_dim, P = c.expansion_ratio;
  matrix("embedder.embeddings.weight", V, E, kUniform);
  for (const auto& [stack, n] :
       {std::pair<const char*, const NeoxConfig*>{"block_decoder", &c.block},
        std::pair<const char*, const NeoxConfig*>{"token_decoder", &c.token}}) {
    const uint64_t D = n->hidden, F = n->ffn;
    const std::string p = std::string(stack) + ".gpt_neox.";
    for (size_t l = 0; l < n->layers; ++l) {
      const std::string q = p + "layers." + std::to_string(l) + ".";
      vec(q + "input_layernorm.weight", D, 1.0f, 0.1f);
      vec(q + "input_layernorm.bias", D, 0.0f, 0.02f);
      vec(q + "post_attention_layernorm.weight", D, 1.0f, 0.1f);
      vec(q + "post_attention_layernorm.bias", D, 0.0f, 0.02f);
      matrix(q + "attention.query_key_value.weight", 3 * D, D, kUniform);
      vec(q + "attention.query_key_value.bias", 3 * D, 0.0f, 0.02f);
      matrix(q + "attention.dense.weight", D, D, kUniform);
      vec(q + "attention.dense.bias", D, 0.0f, 0.02f);
      matrix(q + "mlp.dense_h_to_4h.weight", F, D, kUniform);
      vec(q + "mlp.dense_h_to_4h.bias", F, 0.0f, 0.02f);
      matrix(q + "mlp.dense_4h_to_h.weight", D, F, kUniform);
      vec(q + "mlp.dense_4h_to_h.bias", D, 0.0f, 0.02f);
    }
    vec(p + "final_layer_norm.weight", D, 1.0f, 0.1f);
    vec(p + "final_layer_norm.bias", D, 0.0f, 0.02f);
  }
  const uint64_t Dt = c.token.hidden, Db = c.block.hidden;
  matrix("token_decoder.gpt_neox.embed_in.weight", V, Dt, kUniform);
  matrix("token_decoder.embed_out.weight", V, Dt, kUniform);
  // BaseTokenDecoder._init_expansion_layer: N(0, in_channels^-0.5).
  matrix("token_decoder.expansion_layer.weight", P * Dt, Db, 1.7320508f / std::sqrt(float(Db)));
  vec("token_decoder.expansion_layer.bias", P * Dt, 0.0f, 0.02f);
  out->tensors.Index();
  return out;
}

Result<BlockTransformerConfig> BlockTransformerPresetShape(const std::string& name) {
  // The official conf/trainer/block_main_b4_*.yaml: L_B = 4, lookup width D / 4, block and
  // token decoders of equal shape, expansion_ratio 2, pythia-410m's GPT-NeoX settings (16
  // heads, rotary_pct 0.25); intermediate 4 D, which makes the non-embedding parameters of
  // both decoders together equal to the Pythia model named (19M = pythia-70m, 85M = 160m,
  // 302M = 410m, 805M = 1b, 1.2B = 1.4b), the paper's pairing.
  BlockTransformerConfig c;
  c.vocab_size = 50304;
  c.block_length = 4;
  c.expansion_ratio = 2;
  c.context_length = 2048;
  size_t D = 0, layers = 0, heads = 16;
  if (name == "tiny") {
    c.vocab_size = 512, D = 64, layers = 2, heads = 4;
  } else if (name == "b4-19m") {
    D = 512, layers = 3;
  } else if (name == "b4-85m") {
    D = 768, layers = 6;
  } else if (name == "b4-300m") {
    D = 1024, layers = 12;
  } else if (name == "b4-800m") {
    D = 2048, layers = 8;
  } else if (name == "b4-1.2b") {
    D = 2048, layers = 12;
  } else {
    return InvalidArgument("unknown block-transformer preset '" + name +
                           "' (tiny, b4-19m, b4-85m, b4-300m, b4-800m, b4-1.2b)");
  }
  c.embedder_dim = D / c.block_length;
  for (NeoxConfig* n : {&c.block, &c.token}) {
    n->hidden = D;
    n->layers = layers;
    n->heads = heads;
    n->ffn = 4 * D;
    n->rot_dim = (D / heads) / 4;  // int(head_dim * 0.25)
    n->rope_base = 10000.0f;
    n->ln_eps = 1e-5f;
  }
  FLOE_RETURN_IF_ERROR(c.Validate());
  return c;
}

}  // namespace floe
