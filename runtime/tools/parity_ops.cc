#include "runtime/tools/parity_ops.h"

#include <cmath>
#include <cstdio>

#include "platform/kernels/kernel_targets.h"
#include "runtime/tools/parity_cases.h"

namespace floe {

const std::vector<ParityOpInfo>& ParityOps() {
  // Tolerances on the normalized mean squared error. Float sums in a different order than the
  // reference's double sums stay many orders below them; an op that is wrong by one part in a
  // thousand everywhere (NMSE 1e-6) fails every one of them.
  static const std::vector<ParityOpInfo> ops = {
      {"matmul_f32", 1e-9, "y = W x, f32 weights; reference::MatMul"},
      {"matmul_f16", 1e-9, "y = W x, f16 weights; reference::MatMul"},
      {"matmul_bf16", 1e-9, "y = W x, bf16 weights; reference::MatMul"},
      {"matmul_q8_0", 1e-9, "q8_0 weights x q8_0 activations; QuantizedRowDotReference"},
      {"matmul_q4_0", 1e-9, "q4_0 weights x q8_0 activations; QuantizedRowDotReference"},
      {"matmul_q5_0", 1e-9, "q5_0 weights x q8_0 activations; QuantizedRowDotReference"},
      {"matmul_q2_K", 1e-9, "q2_K weights x q8_K activations; QuantizedRowDotReference"},
      {"matmul_q3_K", 1e-9, "q3_K weights x q8_K activations; QuantizedRowDotReference"},
      {"matmul_q4_K", 1e-9, "q4_K weights x q8_K activations; QuantizedRowDotReference"},
      {"matmul_q6_K", 1e-9, "q6_K weights x q8_K activations; QuantizedRowDotReference"},
      {"rms_norm", 1e-10, "RMSNorm per row; reference::RmsNorm"},
      {"layer_norm", 1e-10, "LayerNorm (affine) per row; reference::LayerNorm"},
      {"softmax", 1e-10, "softmax per row; reference::Softmax"},
      {"rope_norm", 1e-9, "RoPE, interleaved pairs; reference::RopeInterleaved"},
      {"rope_neox", 1e-9, "RoPE, half-split pairs (GPT-NeoX); reference::RopeHalfSplit"},
      {"attention_f32", 1e-9, "causal softmax attention, GQA, f32 KV cache; double loops"},
      {"attention_f16", 1e-9, "causal softmax attention, GQA, f16 KV cache; double loops"},
      {"wkv6", 1e-9, "RWKV-6 WKV, state in and out; the recurrence in double"},
      {"lightning", 1e-9, "decayed linear attention (TransNormerLLM); the recurrence in double"},
      {"selective_scan", 1e-9, "Mamba selective scan, gate and skip; SelectiveScanReference"},
  };
  return ops;
}

namespace {

ParityCheck Compare(const parity::Case& c, const std::string& impl, const parity::Outputs& got,
                    const parity::Outputs& ref, double tolerance) {
  ParityCheck k;
  k.op = c.op, k.shape = c.shape, k.impl = impl, k.tolerance = tolerance;
  if (got.size() != ref.size()) {
    k.error = "output has " + std::to_string(got.size()) + " values, reference " +
              std::to_string(ref.size());
    return k;
  }
  double err = 0, norm = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i]) && std::isfinite(ref[i])) {
      k.error = "non-finite output at " + std::to_string(i);
      k.nmse = INFINITY;
      return k;
    }
    const double d = double(got[i]) - double(ref[i]);
    err += d * d;
    norm += double(ref[i]) * double(ref[i]);
    k.max_abs = std::max(k.max_abs, std::fabs(d));
  }
  k.nmse = norm > 0 ? err / norm : err;
  k.ok = k.nmse <= tolerance;
  return k;
}

}  // namespace

Result<ParitySummary> RunParityOps(const ParityOptions& o,
                                   const std::function<void(const ParityCheck&)>& on_check) {
  ParitySummary sum;
  for (const ParityOpInfo& op : ParityOps()) {
    if (!o.filter.empty() && op.name.find(o.filter) == std::string::npos) continue;
    ++sum.ops;
    for (const parity::Case& c : parity::CasesOf(op.name, o.seed)) {
      ++sum.cases;
      const parity::Outputs ref = c.reference();
      auto record = [&](const ParityCheck& k) {
        ++sum.checks;
        if (!k.ok) ++sum.failed;
        on_check(k);
      };
      if (o.cpu) {
        for (int64_t target : KernelTargets()) {
          parity::Outputs got;
          {
            ScopedKernelTarget force(target);
            got = c.cpu();
          }
          record(Compare(c, std::string("cpu:") + KernelTargetName(target), got, ref,
                         op.max_nmse));
        }
      }
      if (o.backend) {
        Result<parity::Outputs> got = c.backend(*o.backend);
        if (got.ok()) {
          record(Compare(c, o.backend->name(), *got, ref, op.max_nmse));
        } else {
          ParityCheck k;
          k.op = c.op, k.shape = c.shape, k.impl = o.backend->name();
          k.tolerance = op.max_nmse;
          k.error = got.status().message();
          record(k);
        }
      }
    }
  }
  if (sum.ops == 0) return InvalidArgument("--filter '" + o.filter + "' matches no op (see --list)");
  return sum;
}

std::string ParityHeader() {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-15s %-58s %-13s %10s %10s %8s  %s", "op", "shape", "impl",
                "nmse", "max_abs", "tol", "result");
  return buf;
}

std::string FormatParityCheck(const ParityCheck& c) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-15s %-58s %-13s %10.2e %10.2e %8.0e  %s", c.op.c_str(),
                c.shape.c_str(), c.impl.c_str(), c.nmse, c.max_abs, c.tolerance,
                c.ok ? "OK" : "FAIL");
  std::string s = buf;
  if (!c.error.empty()) s += " (" + c.error + ")";
  return s;
}

}  // namespace floe
