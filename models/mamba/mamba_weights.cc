#include "models/mamba/mamba_weights.h"

#include <cmath>
#include <string>

namespace floe {

namespace {

class Binder {
 public:
  Binder(const TensorSet& set, const char* source, MambaWeights* w)
      : set_(set), source_(source), w_(w) {}

  // A tensor of one of `shapes` (the first is the canonical one, named in errors); `why` says
  // which config values the expected shape comes from.
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

  Result<TensorView> Matrix(const std::string& name, size_t rows, size_t cols,
                            const std::string& why) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(name, {{rows, cols}}, why));
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

  // An owned F32 copy of a tensor of `elements` values, any of `shapes`.
  Result<float*> Floats(const std::string& name, const std::vector<std::vector<uint64_t>>& shapes,
                        const std::string& why) {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Shaped(name, shapes, why));
    const size_t n = size_t(t->elements());
    TensorView v;
    v.dtype = t->dtype;
    v.data = t->data;
    v.rows = 1;
    v.cols = n;
    if (IsQuantized(t->dtype) || t->bytes != v.bytes())
      return Unsupported("tensor '" + name + "' must be f32, f16 or bf16 (it is " +
                         DTypeName(t->dtype) + ", " + std::to_string(t->bytes) + " bytes)");
    float* out = Own(n);
    ToF32(v, 0, n, out);
    w_->bytes += n * sizeof(float);
    return out;
  }

  float* Own(size_t n) {
    w_->owned.emplace_back(new float[n]);
    return w_->owned.back().get();
  }

 private:
  const TensorSet& set_;
  std::string source_;
  MambaWeights* w_;
};

}  // namespace

const MambaMixerNames kOfficialMixerNames = {
    "in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight",  "dt_proj.weight",
    "dt_proj.bias",   "A_log",         "D",           "out_proj.weight"};

Status BindMambaMixer(const MambaConfig& c, const TensorSet& set, const std::string& m,
                      const MambaMixerNames& names, MambaAForm a_form, size_t d_out,
                      const char* source, MambaWeights* w, MambaLayerWeights* out) {
  Binder b(set, source, w);
  MambaLayerWeights& L = *out;
  const uint64_t D = c.d_model, Di = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank;
  const std::string dm = "d_model " + std::to_string(D);
  const std::string di = "d_inner " + std::to_string(Di);
  const std::string dn = di + ", d_state " + std::to_string(N);
  FLOE_ASSIGN_OR_RETURN(L.in_proj, b.Matrix(m + names.in_proj, 2 * Di, D, "2 x " + di + ", " + dm));
  FLOE_ASSIGN_OR_RETURN(float* conv, b.Floats(m + names.conv_w, {{Di, 1, K}, {Di, K}},
                                              di + ", d_conv " + std::to_string(K)));
  float* conv_t = b.Own(K * Di);
  for (size_t d = 0; d < Di; ++d)
    for (size_t k = 0; k < K; ++k) conv_t[k * Di + d] = conv[d * K + k];
  L.conv_t = conv_t;
  FLOE_ASSIGN_OR_RETURN(L.conv_b, b.Floats(m + names.conv_b, {{Di}}, di));
  FLOE_ASSIGN_OR_RETURN(L.x_proj, b.Matrix(m + names.x_proj, R + 2 * N, Di,
                                           "dt_rank " + std::to_string(R) + " + 2 x d_state " +
                                               std::to_string(N) + ", " + di));
  FLOE_ASSIGN_OR_RETURN(L.dt_proj,
                        b.Matrix(m + names.dt_w, Di, R, di + ", dt_rank " + std::to_string(R)));
  FLOE_ASSIGN_OR_RETURN(L.dt_bias, b.Floats(m + names.dt_b, {{Di}}, di));
  FLOE_ASSIGN_OR_RETURN(float* A, b.Floats(m + names.a, {{Di, N}}, dn));
  if (a_form == MambaAForm::kALog)
    for (size_t i = 0; i < Di * N; ++i) A[i] = -std::exp(A[i]);  // A = -torch.exp(A_log)
  float* A_t = b.Own(N * Di);
  for (size_t d = 0; d < Di; ++d)
    for (size_t n = 0; n < N; ++n) A_t[n * Di + d] = A[d * N + n];
  L.A = A;
  L.A_t = A_t;
  FLOE_ASSIGN_OR_RETURN(L.D, b.Floats(m + names.d, {{Di}}, di));
  const std::string out_why =
      d_out == D ? dm + ", " + di : "output width " + std::to_string(d_out) + ", " + di;
  FLOE_ASSIGN_OR_RETURN(L.out_proj, b.Matrix(m + names.out_proj, d_out, Di, out_why));
  return Status::Ok();
}

bool LooksLikeMamba(const TensorSet& tensors) {
  return tensors.Find("backbone.layers.0.mixer.A_log") != nullptr;
}

Result<MambaNetwork> BindMamba(const MambaConfig& c, const TensorSet& set, MambaAForm a_form,
                               const char* source) {
  FLOE_RETURN_IF_ERROR(c.Validate());
  MambaNetwork net;
  net.config = c;
  MambaWeights& w = net.weights;
  Binder b(set, source, &w);
  const uint64_t V = c.vocab_size, D = c.d_model;
  const std::string vs = "vocab_size " + std::to_string(V) + " x d_model " + std::to_string(D);
  const std::string dm = "d_model " + std::to_string(D);
  FLOE_ASSIGN_OR_RETURN(w.embed, b.Matrix("backbone.embedding.weight", V, D, vs));
  if (c.tie_embeddings) {
    w.lm_head = w.embed;  // MambaLMHeadModel.tie_weights(); a stored copy is ignored
  } else {
    FLOE_ASSIGN_OR_RETURN(w.lm_head, b.Matrix("lm_head.weight", V, D, vs));
  }
  FLOE_ASSIGN_OR_RETURN(w.norm_f, b.Floats("backbone.norm_f.weight", {{D}}, dm));
  const std::string beyond = "backbone.layers." + std::to_string(c.n_layer) + ".mixer.A_log";
  if (set.Find(beyond))
    return InvalidArgument("checkpoint has tensor '" + beyond + "' but " + source +
                           " says n_layer = " + std::to_string(c.n_layer));
  w.layers.resize(c.n_layer);
  for (size_t l = 0; l < c.n_layer; ++l) {
    MambaLayerWeights& L = w.layers[l];
    const std::string p = "backbone.layers." + std::to_string(l) + ".";
    FLOE_ASSIGN_OR_RETURN(L.norm, b.Floats(p + "norm.weight", {{D}}, dm));
    FLOE_RETURN_IF_ERROR(
        BindMambaMixer(c, set, p + "mixer.", kOfficialMixerNames, a_form, D, source, &w, &L));
  }
  return net;
}

}  // namespace floe
