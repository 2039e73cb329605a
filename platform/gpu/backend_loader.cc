#include "platform/gpu/backend_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace floe {

namespace {

// The directory of the running program ("" if /proc is unavailable).
std::string ProgramDir() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  std::string exe(buf.data(), size_t(n));
  const size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "" : exe.substr(0, slash);
}

std::string DlError() {
  const char* e = dlerror();
  return e ? e : "unknown dlopen error";
}

}  // namespace

Result<std::unique_ptr<GpuBackend>> GpuBackend::Load(const std::string& path) {
  std::vector<std::string> tries;
  if (!path.empty()) {
    tries.push_back(path);
  } else {
    if (const char* env = std::getenv(kGpuBackendEnv); env && *env) tries.push_back(env);
    const std::string dir = ProgramDir();
    if (!dir.empty()) tries.push_back(dir + "/" + kCudaModuleName);
    tries.push_back(kCudaModuleName);
  }
  std::unique_ptr<GpuBackend> b(new GpuBackend());
  std::string errors;
  for (const std::string& p : tries) {
    // A name without '/' goes through the loader's search path; a path must exist.
    if (p.find('/') != std::string::npos && access(p.c_str(), F_OK) != 0) {
      errors += "\n  " + p + ": no such file";
      continue;
    }
    b->handle_ = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (b->handle_) {
      b->path_ = p;
      break;
    }
    errors += "\n  " + p + ": " + DlError();
  }
  if (!b->handle_)
    return NotFound("no GPU backend module could be loaded (build it with -DFLOE_CUDA=ON, "
                    "then pass --backend PATH or set " + std::string(kGpuBackendEnv) +
                    "); tried:" + errors);
  dlerror();
  auto get = reinterpret_cast<floe_gpu_backend_get_fn>(dlsym(b->handle_, FLOE_GPU_BACKEND_SYMBOL));
  if (!get)
    return InvalidArgument(b->path_ + " is not a floe GPU backend (no symbol " +
                           FLOE_GPU_BACKEND_SYMBOL + ")");
  b->table_ = get(FLOE_GPU_ABI_VERSION);
  if (!b->table_)
    return Unsupported(b->path_ + " does not implement backend ABI version " +
                       std::to_string(FLOE_GPU_ABI_VERSION) + ": rebuild it with this floe");
  if (b->table_->abi_version != FLOE_GPU_ABI_VERSION ||
      b->table_->struct_size < sizeof(floe_gpu_backend))
    return Unsupported(b->path_ + ": backend table has ABI " +
                       std::to_string(b->table_->abi_version) + ", size " +
                       std::to_string(b->table_->struct_size) + "; this floe needs ABI " +
                       std::to_string(FLOE_GPU_ABI_VERSION) + ", size " +
                       std::to_string(sizeof(floe_gpu_backend)));
  const floe_gpu_backend& t = *b->table_;
  if (!t.init || !t.last_error || !t.device_name || !t.matmul || !t.rms_norm || !t.layer_norm ||
      !t.softmax || !t.rope || !t.attention || !t.wkv6 || !t.lightning || !t.selective_scan)
    return InvalidArgument(b->path_ + ": backend table has a null entry");
  if (t.init() != 0)
    return Unsupported(b->name() + " backend (" + b->path_ + ") has no usable device: " +
                       t.last_error());
  return b;
}

GpuBackend::~GpuBackend() {
  // The module stays mapped: a CUDA runtime may run exit handlers from it. dlclose would
  // unmap code those handlers need.
}

std::string GpuBackend::device() const {
  const char* d = table_->device_name();
  return d ? d : "?";
}

Status GpuBackend::Check(int rc, const char* op) const {
  if (rc == 0) return Status::Ok();
  return Internal(name() + " backend: " + op + ": " + table_->last_error());
}

}  // namespace floe
