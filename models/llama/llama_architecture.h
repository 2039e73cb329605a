// The registry entries of the Llama family (models/architecture.h): "llama" (Llama 2/3,
// llama2.c, SmolLM, Mistral) and "qwen2" (q/k/v biases, NeoX RoPE).
#pragma once

#include "models/architecture.h"
#include "models/llama/llama_config.h"

namespace floe {

const Architecture& LlamaArchitecture();
const Architecture& Qwen2Architecture();

// Bytes of weights a token reads (the output matrix once when tied).
size_t LlamaWeightBytes(const LlamaWeights& w);

}  // namespace floe
