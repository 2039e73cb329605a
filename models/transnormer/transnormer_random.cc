#include "models/transnormer/transnormer_random.h"

#include <cmath>
#include <cstring>

#include "models/random_tensors.h"

namespace floe {

namespace {

// A generated tensor appended to the model's set, its bytes kept in the model's storage.
template <class Gen>
void AddTensor(RandomTransnormer* out, const std::string& name, std::vector<uint64_t> shape,
               DType dtype, Gen gen) {
  AppendGeneratedTensor(&out->tensors, &out->storage, name, std::move(shape), dtype, gen);
}

}  // namespace

Result<std::unique_ptr<RandomTransnormer>> MakeRandomTransnormer(const TransnormerConfig& c,
                                                                 uint64_t seed, DType dtype) {
  FLOE_RETURN_IF_ERROR(c.Validate());
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16)
    return InvalidArgument("random TransNormerLLM: dtype must be F32, F16 or BF16");
  auto out = std::make_unique<RandomTransnormer>();
  out->config = c;
  SplitMix64 rng(seed);
  const uint64_t V = c.vocab_size, D = c.embed_dim, Hd = c.hidden_dim, G = c.glu_dim, H = c.n_heads;
  auto matrix = [&](const std::string& name, uint64_t rows, uint64_t cols, float gain) {
    const float a = gain * std::sqrt(3.0f / float(cols));
    AddTensor(out.get(), name, {rows, cols}, dtype, [&](size_t) { return rng.Symmetric(a); });
  };
  matrix("model.embed_tokens.weight", V, D, 1.0f);
  for (size_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    matrix(p + "token_mixer.qkvu_proj.weight", 4 * Hd, D, 1.0f);
    matrix(p + "token_mixer.out_proj.weight", D, Hd, 0.5f);
    if (c.lrpe[l]) {
      // The official Lrpe init: 10000^(-2/d * arange(d)) reshaped (H, 1, d/H), d = D.
      AddTensor(out.get(), p + "token_mixer.lrpe.theta", {H, 1, D / H}, DType::kF32,
                [&](size_t i) { return float(std::pow(10000.0, -2.0 / double(D) * double(i))); });
    }
    matrix(p + "channel_mixer.l1.weight", G, D, 1.0f);
    matrix(p + "channel_mixer.l2.weight", G, D, 1.0f);
    matrix(p + "channel_mixer.l3.weight", D, G, 0.5f);
  }
  if (!c.tie_word_embeddings) matrix("lm_head.weight", V, D, 0.5f);
  return out;
}

std::string TransnormerConfigJson(const TransnormerConfig& c) {
  std::string lrpe;
  for (size_t l = 0; l < c.lrpe.size(); ++l)
    lrpe += (l ? ", " : "") + std::to_string(c.lrpe[l] ? 1 : 0);
  const char* act = "silu";
  switch (c.act) {
    case TransnormerActivation::kSilu:
      act = "silu";
      break;
    case TransnormerActivation::kRelu:
      act = "relu";
      break;
    case TransnormerActivation::kSigmoid:
      act = "sigmoid";
      break;
    case TransnormerActivation::kOnePlusElu:
      act = "1+elu";
      break;
    case TransnormerActivation::kIdentity:
      act = "none";
      break;
  }
  return std::string("{\n  \"model_type\": \"transnormer\",\n") +
         "  \"vocab_size\": " + std::to_string(c.vocab_size) + ",\n" +
         "  \"decoder_embed_dim\": " + std::to_string(c.embed_dim) + ",\n" +
         "  \"hidden_dim\": " + std::to_string(c.hidden_dim) + ",\n" +
         "  \"decoder_attention_heads\": " + std::to_string(c.n_heads) + ",\n" +
         "  \"decoder_layers\": " + std::to_string(c.n_layers) + ",\n" +
         "  \"glu_dim\": " + std::to_string(c.glu_dim) + ",\n" + "  \"linear_use_lrpe_list\": [" +
         lrpe + "],\n" + "  \"linear_act_fun\": \"" + act + "\",\n" +
         "  \"norm_type\": \"simplermsnorm\",\n" +
         "  \"no_scale_embedding\": " + (c.scale_embedding ? "false" : "true") + ",\n" +
         "  \"bias\": false,\n" +
         "  \"tie_word_embeddings\": " + (c.tie_word_embeddings ? "true" : "false") + "\n}\n";
}

}  // namespace floe
