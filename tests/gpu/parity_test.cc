// The parity harness of `floe parity ops` without a GPU: its op list, tolerances and report
// format; the CPU fake backend (tests/gpu/fake_backend.cc: the CUDA module's arithmetic on the
// CPU) passing every check; the same backend with one op perturbed by 1e-3 failing exactly
// that op's checks; and the loader's errors for a missing module, a library that is not a
// backend, and a machine without a GPU.
#include <cstdlib>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "platform/gpu/backend_loader.h"
#include "platform/kernels/kernel_targets.h"
#include "runtime/tools/parity_ops.h"

namespace {

using floe::GpuBackend;
using floe::ParityCheck;

// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char* k, const char* v) : key(k) { setenv(k, v, 1); }
  ~ScopedEnv() { unsetenv(key); }
  const char* key;
};

std::unique_ptr<GpuBackend> LoadFake() {
  auto b = GpuBackend::Load(FLOE_FAKE_GPU_MODULE);
  INFO(b.status().ToString());
  REQUIRE(b.ok());
  return std::move(*b);
}

}  // namespace

TEST_CASE("parity op list: every backend op, unique names, tolerances that catch 1e-3") {
  std::set<std::string> names;
  for (const auto& op : floe::ParityOps()) {
    CHECK(names.insert(op.name).second);
    CHECK(op.max_nmse > 0);
    CHECK(op.max_nmse < 1e-7);  // a 1e-3 relative error everywhere has NMSE 1e-6
    CHECK_FALSE(op.what.empty());
  }
  for (const char* n : {"matmul_f32", "matmul_f16", "matmul_bf16", "matmul_q8_0", "matmul_q4_0",
                        "matmul_q5_0", "matmul_q2_K", "matmul_q3_K", "matmul_q4_K", "matmul_q6_K", "rms_norm", "layer_norm", "softmax",
                        "rope_norm", "rope_neox", "attention_f32", "attention_f16", "wkv6",
                        "lightning", "selective_scan"})
    CHECK(names.count(n) == 1);
}

TEST_CASE("parity report lines: fixed columns, OK / FAIL and the error") {
  ParityCheck c;
  c.op = "matmul_q4_0", c.shape = "rows=64,cols=256,tokens=1", c.impl = "cuda";
  c.nmse = 1.5e-12, c.max_abs = 2e-6, c.tolerance = 1e-9, c.ok = true;
  const std::string ok = floe::FormatParityCheck(c);
  CHECK(ok.rfind("matmul_q4_0 ", 0) == 0);
  CHECK(ok.find("rows=64,cols=256,tokens=1") != std::string::npos);
  CHECK(ok.find("1.50e-12") != std::string::npos);
  CHECK(ok.substr(ok.size() - 4) == "  OK");
  c.ok = false, c.error = "matmul: cudaErrorIllegalAddress";
  const std::string bad = floe::FormatParityCheck(c);
  CHECK(bad.find("FAIL (matmul: cudaErrorIllegalAddress)") != std::string::npos);
  const std::string header = floe::ParityHeader();
  for (const char* col : {"op", "shape", "impl", "nmse", "max_abs", "tol", "result"})
    CHECK(header.find(col) != std::string::npos);
  // The columns line up: "impl" starts where each line's impl does.
  CHECK(header.find("impl") == ok.find("cuda"));
}

TEST_CASE("parity: the fake backend passes every op, and the CPU on every target") {
  auto fake = LoadFake();
  CHECK(fake->name() == "fake-cpu");
  floe::ParityOptions o;
  o.cpu = false;
  o.backend = fake.get();
  size_t seen = 0;
  auto sum = floe::RunParityOps(o, [&](const ParityCheck& c) {
    ++seen;
    INFO(floe::FormatParityCheck(c));
    CHECK(c.ok);
    CHECK(c.impl == "fake-cpu");
  });
  REQUIRE(sum.ok());
  CHECK(sum->ops == floe::ParityOps().size());
  CHECK(sum->failed == 0);
  CHECK(sum->checks == seen);
  CHECK(sum->cases >= 4 * sum->ops);

  // The CPU kernels, every compiled target, on a few ops (the full run is `floe parity ops`).
  for (const char* f : {"matmul_q4_K", "attention_f16", "wkv6"}) {
    floe::ParityOptions c;
    c.filter = f;
    auto s = floe::RunParityOps(c, [&](const ParityCheck& k) {
      INFO(floe::FormatParityCheck(k));
      CHECK(k.ok);
      CHECK(k.impl.rfind("cpu:", 0) == 0);
    });
    REQUIRE(s.ok());
    CHECK(s->checks == s->cases * floe::KernelTargets().size());
  }
}

TEST_CASE("parity: a backend with one op off by 1e-3 fails exactly that op") {
  auto fake = LoadFake();
  for (const char* op : {"matmul", "rope", "wkv6", "selective_scan"}) {
    ScopedEnv perturb("FLOE_FAKE_GPU_PERTURB", op);
    floe::ParityOptions o;
    o.cpu = false;
    o.backend = fake.get();
    size_t failed_other = 0;
    auto sum = floe::RunParityOps(o, [&](const ParityCheck& c) {
      if (!c.ok && c.op.rfind(op, 0) != 0) ++failed_other;
      if (c.op.rfind(op, 0) == 0) {
        INFO(floe::FormatParityCheck(c));
        CHECK_FALSE(c.ok);
      }
    });
    REQUIRE(sum.ok());
    INFO(op);
    CHECK(sum->failed > 0);
    CHECK(failed_other == 0);
  }
}

TEST_CASE("backend loader: clear errors for a missing module, a non-backend, no GPU") {
  auto missing = GpuBackend::Load("/nonexistent/libfloe_cuda.so");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == floe::StatusCode::kNotFound);
  CHECK(missing.status().message().find("-DFLOE_CUDA=ON") != std::string::npos);
  CHECK(missing.status().message().find("/nonexistent/libfloe_cuda.so: no such file") !=
        std::string::npos);

  auto not_backend = GpuBackend::Load("libm.so.6");
  REQUIRE_FALSE(not_backend.ok());
  CHECK(not_backend.status().message().find("is not a floe GPU backend") != std::string::npos);

  {
    ScopedEnv no_gpu("FLOE_FAKE_GPU_NO_DEVICE", "1");
    auto b = GpuBackend::Load(FLOE_FAKE_GPU_MODULE);
    REQUIRE_FALSE(b.ok());
    CHECK(b.status().code() == floe::StatusCode::kUnsupported);
    CHECK(b.status().message().find("has no usable device") != std::string::npos);
    CHECK(b.status().message().find("no CUDA-capable device") != std::string::npos);
  }
  {
    ScopedEnv env(floe::kGpuBackendEnv, FLOE_FAKE_GPU_MODULE);  // the default search
    auto b = GpuBackend::Load("");
    REQUIRE(b.ok());
    CHECK((*b)->path() == FLOE_FAKE_GPU_MODULE);
  }

  floe::ParityOptions o;
  o.filter = "no_such_op";
  auto none = floe::RunParityOps(o, [](const ParityCheck&) {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == floe::StatusCode::kInvalidArgument);
}
