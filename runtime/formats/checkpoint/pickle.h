// A small, safe pickle virtual machine (protocols 2..5, the subset torch.save writes for state
// dicts). It never imports or calls anything: GLOBAL / STACK_GLOBAL only name an allow-listed
// callable, REDUCE records "call X with these args" as an object for the caller to interpret,
// BINPERSID records the persistent id. The single exception: REDUCE of collections.OrderedDict
// with no arguments yields an empty dict, so SETITEM(S) can fill it.
//
// Input is untrusted. Values live in an arena (indices, not pointers), so self-referencing
// containers built through the memo cannot leak or dangle; the VM is not recursive, and the
// stack, the memo, MARK nesting and the arena are bounded (PickleLimits, and by the input size:
// every opcode adds at most one value or reference). Any opcode outside the subset is
// kUnsupported naming the opcode byte and its offset; malformed streams are kCorruptData.
// Consumers that walk values recursively must bound their own depth (values may form cycles).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/status.h"

namespace floe {

struct PickleValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,      // `str`: the UTF-8 bytes as written
    kTuple,       // `items`: the elements
    kList,        // `items`: the elements
    kDict,        // `items`: key, value, key, value, ... in insertion order
    kGlobal,      // `str`: "module.name" (allow-listed)
    kObject,      // REDUCE result: `items` = {callable, args tuple}; BUILD state is ignored
    kPersistent,  // BINPERSID result: `items` = {persistent id}
  };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string str;
  std::vector<uint32_t> items;  // indices into Pickle::values
};

struct PickleLimits {
  size_t max_stack = size_t(1) << 20;   // values on the stack at once
  size_t max_marks = 4096;              // MARK nesting
  size_t max_memo = size_t(1) << 22;    // memo entries
  size_t max_values = size_t(1) << 24;  // values in the arena
};

struct Pickle {
  std::vector<PickleValue> values;  // the arena
  uint32_t root = 0;                // the value STOP returned

  const PickleValue& at(uint32_t index) const { return values[index]; }
  const PickleValue& root_value() const { return values[root]; }
};

// The globals torch.save state dicts need: collections.OrderedDict,
// torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the torch.*Storage types.
const std::vector<std::string>& TorchPickleGlobals();

// Runs the pickle in data[0, size) up to STOP. `allowed_globals` lists "module.name" strings;
// any other GLOBAL / STACK_GLOBAL is kUnsupported naming it.
Result<Pickle> ParsePickle(const uint8_t* data, size_t size,
                           const std::vector<std::string>& allowed_globals = TorchPickleGlobals(),
                           const PickleLimits& limits = {});

// "dict", "tuple", ... for error messages.
const char* PickleKindName(PickleValue::Kind kind);

}  // namespace floe
