// floe parity ops: the GPU backend's operations against the scalar references, beside the CPU
// kernels on every compiled Highway target (runtime/tools/parity_ops.h, docs/gpu-parity.md).
// Prints one line per check and a summary; exits 1 on any mismatch or when the backend module
// cannot be loaded or finds no GPU (the message says which), 0 when every check passes.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "platform/gpu/backend_loader.h"
#include "platform/kernels/kernel_targets.h"
#include "runtime/tools/parity_ops.h"

namespace floe::cli {

namespace {

struct ParityFlags {
  std::string filter;
  std::string backend;
  bool cpu_only = false;
  bool no_cpu = false;
  bool list = false;
  bool failures_only = false;
  uint64_t seed = 1;
};

int RunOps(const ParityFlags& f) {
  if (f.list) {
    std::printf("%-15s %8s  %s\n", "op", "tol", "what, and its reference");
    for (const ParityOpInfo& op : ParityOps())
      std::printf("%-15s %8.0e  %s\n", op.name.c_str(), op.max_nmse, op.what.c_str());
    return 0;
  }
  if (f.cpu_only && f.no_cpu) {
    std::fprintf(stderr, "floe parity ops: --cpu-only and --no-cpu leave nothing to check\n");
    return 2;
  }
  std::unique_ptr<GpuBackend> backend;
  if (!f.cpu_only) {
    auto loaded = GpuBackend::Load(f.backend);
    if (!loaded.ok()) {
      std::fprintf(stderr, "floe parity ops: %s\n", loaded.status().ToString().c_str());
      return 1;
    }
    backend = std::move(*loaded);
    std::printf("backend: %s (%s) on %s\n", backend->name().c_str(), backend->path().c_str(),
                backend->device().c_str());
  }
  if (!f.no_cpu) {
    std::string targets;
    for (int64_t t : KernelTargets()) targets += std::string(" ") + KernelTargetName(t);
    std::printf("cpu targets:%s\n", targets.c_str());
  }
  std::printf("%s\n", ParityHeader().c_str());
  ParityOptions o;
  o.filter = f.filter;
  o.cpu = !f.no_cpu;
  o.backend = backend.get();
  o.seed = f.seed;
  auto sum = RunParityOps(o, [&](const ParityCheck& c) {
    if (!f.failures_only || !c.ok) std::printf("%s\n", FormatParityCheck(c).c_str());
    std::fflush(stdout);
  });
  if (!sum.ok()) {
    std::fprintf(stderr, "floe parity ops: %s\n", sum.status().ToString().c_str());
    return 2;
  }
  std::printf("parity ops: %zu ops, %zu cases, %zu checks, %zu failed: %s\n", sum->ops,
              sum->cases, sum->checks, sum->failed, sum->failed ? "FAIL" : "OK");
  return sum->failed ? 1 : 0;
}

}  // namespace

Verb AddParity(CLI::App& floe) {
  auto f = std::make_shared<ParityFlags>();
  CLI::App* app = floe.add_subcommand(
      "parity", "check a GPU backend module against the CPU references (floe parity ops ...)");
  app->require_subcommand(1);
  CLI::App* ops = app->add_subcommand(
      "ops", "every backend op on random inputs of many shapes vs the scalar references");
  ops->add_option("--filter", f->filter, "only ops whose name contains this (see --list)");
  ops->add_option("--backend", f->backend,
                  "the backend module (default: $FLOE_GPU_BACKEND, else libfloe_cuda.so beside "
                  "floe, else the loader's search path)");
  ops->add_flag("--cpu-only", f->cpu_only, "check only the CPU kernels (no module needed)");
  ops->add_flag("--no-cpu", f->no_cpu, "check only the backend");
  ops->add_flag("--list", f->list, "print the ops and their tolerances, then exit");
  ops->add_flag("--failures-only", f->failures_only, "print only failed checks and the summary");
  ops->add_option("--seed", f->seed, "random inputs' seed");
  return {app, [f] { return RunOps(*f); }};
}

}  // namespace floe::cli
