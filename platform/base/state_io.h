// Serialised sequence state (KV caches, recurrent states, positions): the byte format behind
// SequenceState::Save / Restore. Layout, little-endian:
//   "FLST" u32 version | string architecture | u32 n_shape, u64 shape[n_shape] | payload
// (string = u32 length + bytes). `shape` is a fingerprint of everything the payload's layout
// depends on (dims, layer count, cache type, position): Restore rejects a state saved by another
// architecture or configuration with kInvalidArgument instead of misreading it. The payload is
// written by the model with PutBytes/PutU64 and read back with the matching Take* calls.
// A state that leaves the process (a Session's, the C API's, a state file) is sealed: SealState
// appends the XXH3-64 checksum of every byte before it, and UnsealState refuses bytes whose
// checksum does not match, so a truncated or bit-flipped state is an error, never a silently
// different sequence. Version 2 added the seal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/byte_reader.h"
#include "platform/base/status.h"

namespace floe {

inline constexpr uint32_t kStateVersion = 2;

// Appends the u64 (little-endian) XXH3-64 checksum of *bytes to *bytes.
void SealState(std::vector<uint8_t>* bytes);
// The position a state saved by SequenceState::Save holds (the first u64 of its payload, after
// the header of whatever architecture and shape), read without restoring it; kInvalidArgument
// for bytes that are not such a state. (Unsealed bytes: the model's part of a session state.)
Result<uint64_t> SavedStatePosition(std::span<const uint8_t> bytes);

// Checks that `bytes` is a floe state of this version ending with the checksum of everything
// before it; sets *body to the bytes without the checksum. kInvalidArgument otherwise, naming
// the cause (not a state, unsupported version, truncated or modified).
Status UnsealState(std::span<const uint8_t> bytes, std::span<const uint8_t>* body);

class StateWriter {
 public:
  // Clears *out and writes the header.
  StateWriter(std::vector<uint8_t>* out, std::string_view architecture,
              std::span<const uint64_t> shape);
  void PutU64(uint64_t v) { PutRaw(&v, sizeof v); }
  void PutRaw(const void* data, size_t n);

 private:
  std::vector<uint8_t>* out_;
};

class StateReader {
 public:
  explicit StateReader(std::span<const uint8_t> bytes) : r_(bytes.data(), bytes.size()) {}
  // Checks magic, version, architecture and shape; kInvalidArgument naming the mismatch.
  Status ReadHeader(std::string_view architecture, std::span<const uint64_t> shape);
  // Checks magic, version and architecture and reads the shape, whatever it is (at most 2^20
  // values), into *shape: for a layout the reader interprets itself.
  Status ReadHeaderShape(std::string_view architecture, std::vector<uint64_t>* shape);
  // Checks magic and version and skips the architecture and shape, whatever they are.
  Status SkipHeader();
  // Reads a u64 the header did not pin (e.g. a position); it must be <= max.
  Status TakeU64(uint64_t* v, uint64_t max, const char* what);
  Status TakeRaw(void* dst, size_t n, const char* what);
  size_t remaining() const { return r_.remaining(); }
  // kInvalidArgument unless every byte was consumed.
  Status Finish() const;

 private:
  // The magic, the version and the architecture name: the part of the header both readers check.
  Status ReadMagicAndArchitecture(std::string* arch);
  Status ReadShape(std::vector<uint64_t>* shape);  // the count and the values
  ByteReader r_;
};

}  // namespace floe
