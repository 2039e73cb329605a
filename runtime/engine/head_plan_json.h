// The head-plan file (docs/attention/head-plans.md): a JSON document giving each (layer, KV head)
// of a model its attention mode.
//   {
//     "format": "floe-head-plan", "version": 1,
//     "default": {"mode": "dense"},
//     "heads": [
//       {"layer": 0, "head": 1, "mode": "window", "window": 64},
//       {"layer": 2, "head": 0, "mode": "knn", "k": 32, "window": 256, "sinks": 4},
//       {"layer": 3, "head": 1, "mode": "dense"}
//     ],
//     "info": { ... }            (optional, ignored: what plan-heads measured)
//   }
// "default" is optional (dense); knn fields left out take AttentionSettings' defaults (k 32,
// window 256, sinks 4). Input is hostile: the document goes through the strict JSON parser
// (runtime/formats/checkpoint/json.h), and any unknown key, wrong type, negative or huge number,
// unknown mode or field that does not belong to the mode is kInvalidArgument naming where it is.
// Whether the heads exist in a model is HeadPlan::Resolve's question, asked when a session is made.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attention/head_plan.h"
#include "platform/base/status.h"

namespace floe {

inline constexpr size_t kMaxHeadPlanBytes = size_t(16) << 20;

Result<HeadPlan> ParseHeadPlanJson(std::string_view text);
// Reads and parses a file (at most kMaxHeadPlanBytes); errors name the path.
Result<HeadPlan> LoadHeadPlanFile(const std::string& path);
// The document above for `plan`: every entry, in order; `info` members (key, JSON value text)
// go into "info" as given.
std::string HeadPlanToJson(const HeadPlan& plan,
                           const std::vector<std::pair<std::string, std::string>>& info = {});

}  // namespace floe
