#include "models/recurformer/recurformer_config.h"

#include <algorithm>
#include <string>

namespace floe {

bool RecurformerConfig::is_recurrent(size_t layer, size_t kv_head) const {
  const auto& r = recurrent[layer];
  return std::binary_search(r.begin(), r.end(), kv_head);
}

Status RecurformerConfig::Validate() const {
  FLOE_RETURN_IF_ERROR(llama.Validate());
  if (!llama.rope_scaling().identity())
    return Unsupported("recurformer: RoPE scaling is not supported (the file scales RoPE)");
  if (llama.qkv_bias) return Unsupported("recurformer: q/k/v biases are not supported");
  if (recurrent.size() != llama.n_layers)
    return InvalidArgument("recurformer: recurrent head lists for " +
                           std::to_string(recurrent.size()) + " layers, the model has " +
                           std::to_string(llama.n_layers));
  bool any = false;
  for (size_t l = 0; l < recurrent.size(); ++l) {
    const std::string key = "recurformer.blk." + std::to_string(l) + ".recurrent_heads";
    for (size_t i = 0; i < recurrent[l].size(); ++i) {
      if (recurrent[l][i] >= llama.n_kv_heads)
        return InvalidArgument(key + ": KV head " + std::to_string(recurrent[l][i]) +
                               " does not exist (the model has " +
                               std::to_string(llama.n_kv_heads) + " KV heads per layer)");
      if (i > 0 && recurrent[l][i] <= recurrent[l][i - 1])
        return InvalidArgument(key + " must list distinct KV heads in ascending order");
    }
    any = any || !recurrent[l].empty();
  }
  if (any) {
    if (ssm.d_model != llama.dim)
      return InvalidArgument("recurformer: the mixers' input width " + std::to_string(ssm.d_model) +
                             " is not the model width " + std::to_string(llama.dim));
    Status st = ssm.Validate();
    if (!st.ok()) return Status(st.code(), "recurformer.ssm: " + st.message());
  }
  return Status::Ok();
}

}  // namespace floe
