// Internals shared by the C API's translation units: the opaque handle types and the
// status/error plumbing. Not installed.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "floe/floe.h"
#include "platform/base/log.h"
#include "runtime/engine/model.h"
#include "runtime/engine/sampler.h"
#include "runtime/engine/session.h"

// Shared by its sessions: floe_model_free drops the caller's reference and the model goes when
// the last session does. Its last_error is guarded (model calls are thread-safe).
struct floe_model {
  std::unique_ptr<floe::Model> model;
  std::atomic<int> refs{1};
  std::mutex error_mutex;
  std::string last_error;
  floe::Logger logger;
};

struct floe_session {
  floe_model* owner = nullptr;
  std::unique_ptr<floe::Session> session;
  std::string last_error;
};

struct floe_sampler {
  std::unique_ptr<floe::Sampler> sampler;
};

namespace floe::capi {

floe_status ToC(const floe::Status& s);
// Records message in *slot (may be null) and in the calling thread's floe_last_error.
floe_status Fail(std::string* slot, floe_status code, const std::string& message);
floe_status Report(std::string* slot, const floe::Status& s);
// The same for the model's mutex-guarded slot.
floe_status FailModel(floe_model* m, floe_status code, const std::string& message);
floe_status ReportModel(floe_model* m, const floe::Status& s);
bool SizeOk(uint32_t struct_size, size_t expected);
void ReleaseModel(floe_model* m);

// Runs f, converting any escaping exception (e.g. std::bad_alloc) into a status.
template <class F>
floe_status Guard(std::string* slot, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Fail(slot, FLOE_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return Fail(slot, FLOE_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(slot, FLOE_ERR_INTERNAL, "internal error");
  }
}

}  // namespace floe::capi
