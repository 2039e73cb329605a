// Loads a compute backend module (backend_abi.h) with dlopen at run time: libfloe.a links only
// libdl's dlopen/dlsym (part of libc), never a CUDA library, so programs keep no CUDA NEEDED
// entry whether or not a module or a GPU exists. Every failure (module not found, not a floe
// backend, ABI mismatch, no CUDA driver, no GPU) is a Status whose message says which.
#pragma once

#include <memory>
#include <string>

#include "platform/base/status.h"
#include "platform/gpu/backend_abi.h"

namespace floe {

// Where `floe parity` looks when no path is given, in order: $FLOE_GPU_BACKEND, then
// libfloe_cuda.so beside the running program, then the dynamic loader's search path.
inline constexpr const char* kGpuBackendEnv = "FLOE_GPU_BACKEND";
inline constexpr const char* kCudaModuleName = "libfloe_cuda.so";

class GpuBackend {
 public:
  // Opens `path` (empty: the default search above), checks the ABI and calls init().
  static Result<std::unique_ptr<GpuBackend>> Load(const std::string& path);
  ~GpuBackend();
  GpuBackend(const GpuBackend&) = delete;
  GpuBackend& operator=(const GpuBackend&) = delete;

  const floe_gpu_backend& table() const { return *table_; }
  const std::string& path() const { return path_; }
  std::string name() const { return table_->name ? table_->name : "?"; }
  std::string device() const;
  // Turns an op's return code into a Status with the module's last_error().
  Status Check(int rc, const char* op) const;

 private:
  GpuBackend() = default;
  void* handle_ = nullptr;
  const floe_gpu_backend* table_ = nullptr;
  std::string path_;
};

}  // namespace floe
