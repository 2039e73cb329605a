#include "attention/knn/shared_candidates.h"

#include <cstring>
#include <string>

#include "platform/base/byte_reader.h"

namespace floe::ice {

namespace {
constexpr uint64_t kSectionTag = 0x53444e4143454349ULL;  // "ICECANDS"
}  // namespace

void SharedCandidates::Init(size_t n_layers, size_t n_kv_heads, size_t block_size) {
  n_heads_ = n_kv_heads;
  block_size_ = block_size;
  entries_.assign(n_layers * n_kv_heads, Entry{});
  carried_.assign(n_layers * n_kv_heads, Entry{});
}

void SharedCandidates::Clear() {
  for (Entry& e : entries_) {
    e.block = kNoBlock;
    e.ids.clear();
    e.keys.clear();
  }
  for (Entry& e : carried_) e.block = kNoBlock;
}

size_t SharedCandidates::bytes() const {
  size_t n = (entries_.capacity() + carried_.capacity()) * sizeof(Entry);
  for (const Entry& e : entries_) n += e.ids.capacity() * sizeof(uint32_t) + e.keys.capacity();
  for (const Entry& e : carried_) n += e.ids.capacity() * sizeof(uint32_t) + e.keys.capacity();
  return n;
}

void SharedCandidates::TakeCarried(size_t layer, uint64_t block) {
  for (size_t h = 0; h < n_heads_; ++h) {
    Entry& e = entries_[layer * n_heads_ + h];
    Entry& c = carried_[layer * n_heads_ + h];
    if (e.block == block) {
      std::swap(c.ids, e.ids);  // keeps both vectors' memory: nothing allocated per step
      std::swap(c.keys, e.keys);
      c.block = block;
      c.first = e.first;
    } else {
      c.block = kNoBlock;
    }
    e.block = kNoBlock;
  }
}

void SharedCandidates::DropFrom(size_t layer, size_t position) {
  for (size_t h = 0; h < n_heads_; ++h) {
    Entry& e = entries_[layer * n_heads_ + h];
    if (e.block != kNoBlock && e.first >= position) e.block = kNoBlock;
  }
}

// Section: tag, layers x heads, block size, then per entry: block, first, count, ids.
void SharedCandidates::Save(StateWriter& w) const {
  w.PutU64(kSectionTag);
  w.PutU64(entries_.size());
  w.PutU64(n_heads_);
  w.PutU64(block_size_);
  for (const Entry& e : entries_) {
    const bool has = e.block != kNoBlock;
    w.PutU64(e.block);
    w.PutU64(e.first);
    w.PutU64(has ? e.ids.size() : 0);
    if (has) w.PutRaw(e.ids.data(), e.ids.size() * sizeof(uint32_t));
  }
}

Status SharedCandidates::Restore(std::span<const uint8_t> bytes, size_t positions) {
  auto bad = [](const std::string& m) {
    return InvalidArgument("session state: shared kNN candidates: " + m);
  };
  ByteReader r(bytes.data(), bytes.size());
  uint64_t tag = 0, n_entries = 0, n_heads = 0, block_size = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&tag, "candidates tag"));
  if (tag != kSectionTag) return bad("unknown section");
  FLOE_RETURN_IF_ERROR(r.Read(&n_entries, "entry count"));
  FLOE_RETURN_IF_ERROR(r.Read(&n_heads, "head count"));
  FLOE_RETURN_IF_ERROR(r.Read(&block_size, "block size"));
  // Parse and check everything before changing anything.
  std::vector<Entry> parsed;
  if (n_entries > r.remaining() / 24)
    return bad("entry count " + std::to_string(n_entries) + " exceeds the bytes");
  parsed.resize(n_entries);
  for (Entry& e : parsed) {
    uint64_t first = 0, count = 0;
    FLOE_RETURN_IF_ERROR(r.Read(&e.block, "entry block"));
    FLOE_RETURN_IF_ERROR(r.Read(&first, "entry position"));
    FLOE_RETURN_IF_ERROR(r.Read(&count, "entry size"));
    if (count > r.remaining() / sizeof(uint32_t))
      return bad("entry size " + std::to_string(count) + " exceeds the bytes");
    if (e.block == kNoBlock) {
      if (count != 0) return bad("an empty entry with ids");
      continue;
    }
    if (first >= positions)
      return bad("an entry made at position " + std::to_string(first) + " beyond the state's " +
                 std::to_string(positions));
    e.first = uint32_t(first);
    e.ids.resize(count);
    const uint8_t* p = nullptr;
    FLOE_RETURN_IF_ERROR(r.ReadBytes(count * sizeof(uint32_t), &p, "entry ids"));
    if (count > 0) std::memcpy(e.ids.data(), p, count * sizeof(uint32_t));  // data() may be null
    for (uint32_t id : e.ids)
      if (id >= positions)
        return bad("candidate " + std::to_string(id) + " beyond the state's " +
                   std::to_string(positions) + " positions");
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  Clear();
  // Another shape (a session with other heads or another block size): the blocks search afresh.
  if (n_entries != entries_.size() || n_heads != n_heads_ || block_size != block_size_)
    return Status::Ok();
  for (size_t i = 0; i < parsed.size(); ++i) entries_[i] = std::move(parsed[i]);
  return Status::Ok();
}

}  // namespace floe::ice
