#include "runtime/formats/checkpoint/llama2c_checkpoint.h"

#include "models/llama/llama_gguf.h"

#include <cstring>

#include "platform/base/byte_reader.h"

namespace floe {

namespace {

constexpr uint32_t kV1Magic = 0x616b3432;  // "ak42"
constexpr size_t kV1HeaderBytes = 256;

// Hands out consecutive fp32 tensors from the weight region, checking the bounds.
class TensorCursor {
 public:
  TensorCursor(const uint8_t* data, size_t size, size_t offset)
      : data_(data), size_(size), off_(offset) {}
  Status Take(size_t rows, size_t cols, TensorView* out, const char* what) {
    const size_t bytes = rows * cols * sizeof(float);
    if (bytes > size_ - off_)
      return CorruptData(std::string("llama2.c checkpoint truncated in ") + what + " (needs " +
                         std::to_string(bytes) + " bytes at offset " + std::to_string(off_) +
                         ", file has " + std::to_string(size_) + ")");
    *out = TensorView{DType::kF32, data_ + off_, rows, cols};
    off_ += bytes;
    return Status::Ok();
  }
  Status Skip(size_t floats, const char* what) {
    TensorView ignored;
    return Take(1, floats, &ignored, what);
  }
  size_t offset() const { return off_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t off_;
};

struct Header {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

Status HeaderToConfig(const Header& h, LlamaConfig* c) {
  auto positive = [](int32_t v) { return v > 0; };
  if (!positive(h.dim) || !positive(h.hidden_dim) || !positive(h.n_layers) ||
      !positive(h.n_heads) || !positive(h.n_kv_heads) || h.vocab_size == 0 ||
      h.vocab_size == INT32_MIN || !positive(h.seq_len))
    return CorruptData("not a llama2.c checkpoint: header {dim " + std::to_string(h.dim) +
                       ", hidden " + std::to_string(h.hidden_dim) + ", layers " +
                       std::to_string(h.n_layers) + ", heads " + std::to_string(h.n_heads) +
                       ", kv heads " + std::to_string(h.n_kv_heads) + ", vocab " +
                       std::to_string(h.vocab_size) + ", seq_len " + std::to_string(h.seq_len) +
                       "} has non-positive fields");
  if (h.dim % h.n_heads != 0)
    return CorruptData("llama2.c header: dim " + std::to_string(h.dim) +
                       " is not a multiple of n_heads " + std::to_string(h.n_heads));
  c->dim = size_t(h.dim);
  c->ffn_dim = size_t(h.hidden_dim);
  c->n_layers = size_t(h.n_layers);
  c->n_heads = size_t(h.n_heads);
  c->n_kv_heads = size_t(h.n_kv_heads);
  c->vocab_size = size_t(h.vocab_size < 0 ? -int64_t(h.vocab_size) : h.vocab_size);
  c->context_length = size_t(h.seq_len);
  c->head_dim = c->dim / c->n_heads;
  c->rope_dim = c->head_dim;
  c->rope_freq_base = 10000.0f;
  c->rms_eps = 1e-5f;
  c->rope_style = RopeStyle::kInterleaved;
  Status st = c->Validate();
  if (!st.ok()) return CorruptData(st.message());
  return Status::Ok();
}

// Total fp32 elements the header promises; false on overflow.
bool ExpectedFloats(const LlamaConfig& c, int version, bool shared, uint64_t* out) {
  using u128 = unsigned __int128;
  const u128 L = c.n_layers, D = c.dim, KV = c.kv_dim(), Q = c.q_dim(), F = c.ffn_dim,
             V = c.vocab_size;
  u128 n = V * D + 2 * L * D + D + L * (D * Q + 2 * D * KV + Q * D) + 3 * L * D * F;
  if (version == 0) n += u128(c.context_length) * c.head_dim;  // freq_cis real+imag
  if (!shared) n += V * D;
  if (n > u128(UINT64_MAX / 8)) return false;
  *out = uint64_t(n);
  return true;
}

}  // namespace

bool LooksLikeLlama2cV1(const uint8_t* data, size_t size) {
  uint32_t magic = 0;
  if (size < 4) return false;
  std::memcpy(&magic, data, 4);
  return magic == kV1Magic;
}

Result<Llama2cCheckpoint> ParseLlama2cCheckpoint(const uint8_t* data, size_t size) {
  Llama2cCheckpoint ck;
  ByteReader r(data, size);
  Header h{};
  size_t weights_offset = 0;
  if (LooksLikeLlama2cV1(data, size)) {
    uint32_t magic = 0;
    int32_t version = 0;
    uint8_t shared = 0;
    FLOE_RETURN_IF_ERROR(r.Read(&magic, "llama2.c magic"));
    FLOE_RETURN_IF_ERROR(r.Read(&version, "llama2.c version"));
    if (version != 1)
      return Unsupported("llama2.c checkpoint version " + std::to_string(version) +
                         " (only fp32 version 1 and the legacy format are supported)");
    FLOE_RETURN_IF_ERROR(r.Read(&h, "llama2.c header"));
    FLOE_RETURN_IF_ERROR(r.Read(&shared, "llama2.c shared_classifier flag"));
    if (shared > 1)
      return CorruptData("llama2.c v1 header: shared_classifier flag is " + std::to_string(shared));
    if (h.vocab_size < 0) return CorruptData("llama2.c v1 header: negative vocab_size");
    ck.version = 1;
    ck.shared_classifier = shared == 1;
    weights_offset = kV1HeaderBytes;
  } else {
    FLOE_RETURN_IF_ERROR(r.Read(&h, "llama2.c legacy header"));
    ck.version = 0;
    ck.shared_classifier = h.vocab_size > 0;
    weights_offset = sizeof(Header);
  }
  FLOE_RETURN_IF_ERROR(HeaderToConfig(h, &ck.config));
  const LlamaConfig& c = ck.config;
  uint64_t floats = 0;
  if (!ExpectedFloats(c, ck.version, ck.shared_classifier, &floats) ||
      floats * 4 != uint64_t(size) - weights_offset || size < weights_offset)
    return CorruptData("llama2.c checkpoint size mismatch: the header (dim " +
                       std::to_string(c.dim) + ", " + std::to_string(c.n_layers) +
                       " layers, vocab " + std::to_string(c.vocab_size) +
                       (ck.shared_classifier ? ", shared" : ", separate") +
                       " classifier) implies " + std::to_string(weights_offset + floats * 4) +
                       " bytes, the file has " + std::to_string(size));

  const size_t L = c.n_layers, D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim;
  LlamaWeights& w = ck.weights;
  w.layers.resize(L);
  TensorCursor cur(data, size, weights_offset);
  auto per_layer = [&](TensorView LlamaLayerWeights::*field, size_t rows, size_t cols,
                       const char* what) -> Status {
    for (size_t l = 0; l < L; ++l)
      FLOE_RETURN_IF_ERROR(cur.Take(rows, cols, &(w.layers[l].*field), what));
    return Status::Ok();
  };
  if (ck.version == 0) {
    FLOE_RETURN_IF_ERROR(cur.Take(c.vocab_size, D, &w.token_embd, "token_embedding"));
    FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::attn_norm, 1, D, "rms_att"));
  } else {
    FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::attn_norm, 1, D, "rms_att"));
    FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::ffn_norm, 1, D, "rms_ffn"));
    FLOE_RETURN_IF_ERROR(cur.Take(1, D, &w.output_norm, "rms_final"));
    FLOE_RETURN_IF_ERROR(cur.Take(c.vocab_size, D, &w.token_embd, "token_embedding"));
  }
  FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::wq, Q, D, "wq"));
  FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::wk, KV, D, "wk"));
  FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::wv, KV, D, "wv"));
  FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::wo, D, Q, "wo"));
  if (ck.version == 0)
    FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::ffn_norm, 1, D, "rms_ffn"));
  FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::ffn_gate, F, D, "w1"));
  FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::ffn_down, D, F, "w2"));
  FLOE_RETURN_IF_ERROR(per_layer(&LlamaLayerWeights::ffn_up, F, D, "w3"));
  if (ck.version == 0) {
    FLOE_RETURN_IF_ERROR(cur.Take(1, D, &w.output_norm, "rms_final"));
    FLOE_RETURN_IF_ERROR(cur.Skip(c.context_length * c.head_dim, "freq_cis"));
  }
  if (ck.shared_classifier)
    w.output = w.token_embd;
  else
    FLOE_RETURN_IF_ERROR(cur.Take(c.vocab_size, D, &w.output, "wcls"));
  return ck;
}

Result<std::unique_ptr<ModelCollector>> ReadLlama2cAsGguf(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(Llama2cCheckpoint ck, ParseLlama2cCheckpoint(data, size));
  auto out = std::make_unique<ModelCollector>("llama2.c header");
  out->SetString("general.architecture", ck.config.arch);
  FLOE_RETURN_IF_ERROR(WriteLlamaGguf(ck.config, ck.weights, *out));
  return out;
}

}  // namespace floe
