#include "models/causal_lm.h"

#include <string>

namespace floe {

Status CausalLm::ForwardEach(std::span<SequenceState* const> states,
                             std::span<const int32_t> tokens, float* logits, ThreadContext& threads,
                             const std::atomic<bool>* cancel) const {
  if (states.size() != tokens.size())
    return InvalidArgument("ForwardEach: " + std::to_string(states.size()) + " states but " +
                           std::to_string(tokens.size()) + " tokens");
  if (logits == nullptr) return InvalidArgument("ForwardEach: logits buffer is null");
  for (size_t i = 0; i < states.size(); ++i) {
    if (states[i] == nullptr)
      return InvalidArgument("ForwardEach: state " + std::to_string(i) + " is null");
    for (size_t j = 0; j < i; ++j)
      if (states[j] == states[i])
        return InvalidArgument("ForwardEach: state " + std::to_string(i) + " appears twice");
  }
  for (size_t i = 0; i < states.size(); ++i)
    FLOE_RETURN_IF_ERROR(Forward(*states[i], tokens.subspan(i, 1), LogitsMode::kLast,
                                 logits + i * vocab_size(), threads, cancel));
  return Status::Ok();
}

}  // namespace floe
