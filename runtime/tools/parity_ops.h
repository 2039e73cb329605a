// `floe parity ops`: every operation of the GPU backend ABI (platform/gpu/backend_abi.h) on
// random inputs of many shapes, run on the CPU kernels under every compiled Highway target and
// on a loaded backend module, each compared with the scalar reference (platform/kernels/
// reference.h, platform/quant, attention/linear) by normalized mean squared error against a
// per-op tolerance, in the manner of llama.cpp's test-backend-ops. docs/gpu-parity.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "platform/base/status.h"
#include "platform/gpu/backend_loader.h"

namespace floe {

struct ParityOpInfo {
  std::string name;  // "matmul_q4_0"
  double max_nmse;   // the tolerance: sum (got - ref)^2 / sum ref^2 must not exceed it
  std::string what;  // what runs, and the reference it is held to
};
// Every op the harness checks, in report order.
const std::vector<ParityOpInfo>& ParityOps();

struct ParityCheck {
  std::string op, shape, impl;  // impl: a Highway target ("AVX3_DL") or the backend's name
  double nmse = 0, max_abs = 0, tolerance = 0;
  bool ok = false;
  std::string error;  // the backend's failure message, or "non-finite output"
};

struct ParityOptions {
  std::string filter;                  // run ops whose name contains it ("" = all)
  bool cpu = true;                     // check the CPU kernels (every compiled target)
  const GpuBackend* backend = nullptr;  // check this backend too (null: CPU only)
  uint64_t seed = 1;
};

struct ParitySummary {
  size_t ops = 0, cases = 0, checks = 0, failed = 0;
};

// Runs the checks, calling on_check after each; kInvalidArgument when the filter matches no
// op. A mismatch is a failed check in the summary, not an error Status.
Result<ParitySummary> RunParityOps(const ParityOptions& options,
                                   const std::function<void(const ParityCheck&)>& on_check);

// The report's header and one line per check (fixed-width columns, "OK" / "FAIL").
std::string ParityHeader();
std::string FormatParityCheck(const ParityCheck& c);

}  // namespace floe
