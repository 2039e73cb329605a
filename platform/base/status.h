// Errors are values (DESIGN.md): every fallible library call returns Status or Result<T>.
// Nothing in the library aborts, exits or lets an exception escape.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace floe {

// Stable numeric values: the C API maps these 1:1 to FLOE_STATUS_* codes.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // caller passed something unusable (bad setting, null, size)
  kNotFound = 2,         // file, tensor or metadata key missing
  kIoError = 3,          // the OS refused a read/write/map
  kCorruptData = 4,      // a file's content is inconsistent, truncated or hostile
  kUnsupported = 5,      // valid input we do not implement (format version, dtype)
  kOutOfRange = 6,       // index/position past a limit (context full, token id)
  kCancelled = 7,        // a cancel flag or callback stopped the work
  kOutOfMemory = 8,
  kInternal = 9,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt data: tensor blk.3.attn_q.weight: offset past end of file"
  std::string ToString() const;
  // Prefixes context to the message ("loading foo.gguf: ...") and returns *this.
  Status&& WithContext(const std::string& context) &&;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status CorruptData(std::string m) { return {StatusCode::kCorruptData, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status OutOfMemory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a value or a non-ok Status. Accessing value() of an error is an internal bug
// (checked by assert in debug builds); callers test ok() first.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace floe

#define FLOE_CONCAT_INNER(a, b) a##b
#define FLOE_CONCAT(a, b) FLOE_CONCAT_INNER(a, b)

#define FLOE_RETURN_IF_ERROR(expr)       \
  do {                                   \
    ::floe::Status floe_st_ = (expr);    \
    if (!floe_st_.ok()) return floe_st_; \
  } while (0)

// FLOE_ASSIGN_OR_RETURN(auto x, MakeX());
#define FLOE_ASSIGN_OR_RETURN(lhs, expr)                                                        \
  auto FLOE_CONCAT(floe_res_, __LINE__) = (expr);                                               \
  if (!FLOE_CONCAT(floe_res_, __LINE__).ok()) return FLOE_CONCAT(floe_res_, __LINE__).status(); \
  lhs = std::move(FLOE_CONCAT(floe_res_, __LINE__)).value()
