// Tests: a TransNormerLLM config straight from config.json text, through the runtime's JSON
// metadata view, as the loader reads it.
#pragma once

#include <string_view>

#include "models/transnormer/transnormer_config.h"
#include "runtime/formats/checkpoint/json_metadata.h"

namespace floe::testing {

inline Result<TransnormerConfig> TransnormerConfigFromJson(std::string_view text) {
  auto json = JsonMetadata::Parse(text, "TransNormerLLM config.json");
  if (!json.ok()) return json.status();
  return TransnormerConfigFromHfConfig(*json);
}

}  // namespace floe::testing
