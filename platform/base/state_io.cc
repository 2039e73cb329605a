#include "platform/base/state_io.h"

#include <cstring>

// Header-only use (Debian libxxhash-dev): no library to link, nothing added to floe's
// runtime dependencies.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace floe {

namespace {
// A truncated state is the caller's bad argument, not corrupt model data.
Status AsArgument(Status st) {
  return st.ok() ? st : InvalidArgument("session state: " + st.message());
}
}  // namespace

void SealState(std::vector<uint8_t>* bytes) {
  const uint64_t sum = XXH3_64bits(bytes->data(), bytes->size());
  const size_t old = bytes->size();
  bytes->resize(old + sizeof sum);
  std::memcpy(bytes->data() + old, &sum, sizeof sum);
}

Status UnsealState(std::span<const uint8_t> bytes, std::span<const uint8_t>* body) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "FLST", 4) != 0)
    return InvalidArgument("not a floe session state (bad magic)");
  uint32_t version = 0;
  if (bytes.size() >= 8) std::memcpy(&version, bytes.data() + 4, sizeof version);
  if (bytes.size() >= 8 && version != kStateVersion)
    return InvalidArgument("session state version " + std::to_string(version) +
                           " is not supported (expected " + std::to_string(kStateVersion) + ")");
  uint64_t stored = 0;
  if (bytes.size() < 8 + sizeof stored)
    return InvalidArgument("session state is truncated (" + std::to_string(bytes.size()) +
                           " bytes)");
  const size_t n = bytes.size() - sizeof stored;
  std::memcpy(&stored, bytes.data() + n, sizeof stored);
  if (XXH3_64bits(bytes.data(), n) != stored)
    return InvalidArgument("session state is corrupt: its checksum does not match (truncated or "
                           "modified bytes)");
  *body = bytes.first(n);
  return Status::Ok();
}

StateWriter::StateWriter(std::vector<uint8_t>* out, std::string_view architecture,
                         std::span<const uint64_t> shape)
    : out_(out) {
  out_->clear();
  PutRaw("FLST", 4);
  const uint32_t version = kStateVersion;
  PutRaw(&version, 4);
  const uint32_t n = static_cast<uint32_t>(architecture.size());
  PutRaw(&n, 4);
  PutRaw(architecture.data(), architecture.size());
  const uint32_t ns = static_cast<uint32_t>(shape.size());
  PutRaw(&ns, 4);
  for (uint64_t s : shape) PutU64(s);
}

void StateWriter::PutRaw(const void* data, size_t n) {
  if (n == 0) return;
  const size_t old = out_->size();
  out_->resize(old + n);
  std::memcpy(out_->data() + old, data, n);
}

Status StateReader::ReadMagicAndArchitecture(std::string* arch) {
  char magic[4] = {};
  if (!r_.Read(&magic, "state magic").ok() || std::memcmp(magic, "FLST", 4) != 0)
    return InvalidArgument("not a floe session state (bad magic)");
  uint32_t version = 0;
  FLOE_RETURN_IF_ERROR(AsArgument(r_.Read(&version, "state version")));
  if (version != kStateVersion)
    return InvalidArgument("session state version " + std::to_string(version) +
                           " is not supported (expected " + std::to_string(kStateVersion) + ")");
  uint32_t n = 0;
  FLOE_RETURN_IF_ERROR(AsArgument(r_.Read(&n, "state architecture length")));
  if (n > 256) return InvalidArgument("session state: absurd architecture name length");
  FLOE_RETURN_IF_ERROR(AsArgument(r_.ReadString(n, arch, "state architecture")));
  return Status::Ok();
}

Status StateReader::ReadShape(std::vector<uint64_t>* shape) {
  uint32_t ns = 0;
  FLOE_RETURN_IF_ERROR(AsArgument(r_.Read(&ns, "state shape count")));
  if (ns > 1 << 20 || ns > r_.remaining() / sizeof(uint64_t))
    return InvalidArgument("session state: truncated shape");
  shape->assign(ns, 0);
  for (size_t i = 0; i < ns; ++i)
    FLOE_RETURN_IF_ERROR(AsArgument(r_.Read(&(*shape)[i], "state shape")));
  return Status::Ok();
}

Status StateReader::ReadHeaderShape(std::string_view architecture, std::vector<uint64_t>* shape) {
  std::string arch;
  FLOE_RETURN_IF_ERROR(ReadMagicAndArchitecture(&arch));
  if (arch != architecture)
    return InvalidArgument("session state was saved by a '" + arch + "' model, not '" +
                           std::string(architecture) + "'");
  return ReadShape(shape);
}

Status StateReader::SkipHeader() {
  std::string arch;
  FLOE_RETURN_IF_ERROR(ReadMagicAndArchitecture(&arch));
  std::vector<uint64_t> shape;
  return ReadShape(&shape);
}

Result<uint64_t> SavedStatePosition(std::span<const uint8_t> bytes) {
  StateReader r(bytes);
  FLOE_RETURN_IF_ERROR(r.SkipHeader());
  uint64_t pos = 0;
  FLOE_RETURN_IF_ERROR(r.TakeU64(&pos, UINT64_MAX, "position"));
  return pos;
}

Status StateReader::ReadHeader(std::string_view architecture, std::span<const uint64_t> shape) {
  std::vector<uint64_t> saved;
  FLOE_RETURN_IF_ERROR(ReadHeaderShape(architecture, &saved));
  if (saved.size() != shape.size())
    return InvalidArgument("session state was saved with a different model configuration");
  for (size_t i = 0; i < saved.size(); ++i)
    if (saved[i] != shape[i])
      return InvalidArgument(
          "session state was saved with a different model configuration "
          "(shape field " +
          std::to_string(i) + ": " + std::to_string(saved[i]) + " vs " + std::to_string(shape[i]) +
          ")");
  return Status::Ok();
}

Status StateReader::TakeU64(uint64_t* v, uint64_t max, const char* what) {
  FLOE_RETURN_IF_ERROR(AsArgument(r_.Read(v, what)));
  if (*v > max)
    return InvalidArgument(std::string("session state: ") + what + " " + std::to_string(*v) +
                           " exceeds " + std::to_string(max));
  return Status::Ok();
}

Status StateReader::TakeRaw(void* dst, size_t n, const char* what) {
  const uint8_t* p = nullptr;
  Status st = r_.ReadBytes(n, &p, what);
  if (!st.ok()) return InvalidArgument("session state: " + st.message());
  if (n > 0) std::memcpy(dst, p, n);  // dst may be null for an empty span
  return Status::Ok();
}

Status StateReader::Finish() const {
  if (r_.remaining() != 0)
    return InvalidArgument("session state has " + std::to_string(r_.remaining()) +
                           " unexpected trailing bytes");
  return Status::Ok();
}

}  // namespace floe
