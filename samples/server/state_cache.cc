#include "state_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>

// Header-only use (Debian libxxhash-dev), as in platform/base/state_io.cc: nothing to link.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace floe::serve {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'F', 'L', 'O', 'E', 'S', 'R', 'V', '1'};
constexpr char kSuffix[] = ".fstate";
constexpr char kTempPrefix[] = ".tmp-";
constexpr size_t kMaxQueued = 4;  // states waiting for the writer; more are not saved

struct File {
  std::FILE* f = nullptr;
  ~File() {
    if (f) std::fclose(f);
  }
};

// Opens PATH for reading only if it is a regular file: a FIFO or device planted in the cache
// folder must not block the scheduler thread in open() (O_NONBLOCK) nor be read.
std::FILE* OpenRegular(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    errno = EINVAL;
    return nullptr;
  }
  std::FILE* f = ::fdopen(fd, "rb");
  if (!f) ::close(fd);
  return f;
}

bool ReadU64(std::FILE* f, uint64_t* v) { return std::fread(v, sizeof *v, 1, f) == 1; }

// Reads the magic and the token count n of a state file of `size` bytes; false unless the magic
// is ours and n tokens fit in the file after the 24 header bytes.
bool ReadHeader(std::FILE* f, uint64_t size, uint64_t* n) {
  char magic[8];
  return size >= 24 && std::fread(magic, 1, 8, f) == 8 && !std::memcmp(magic, kMagic, 8) &&
         ReadU64(f, n) && *n <= (size - 24) / sizeof(floe_token);
}

// "0123456789abcdef.fstate" -> the hash; false for any other name.
bool ParseName(const std::string& name, uint64_t* hash) {
  if (name.size() != 16 + std::strlen(kSuffix) || name.compare(16, std::string::npos, kSuffix))
    return false;
  uint64_t h = 0;
  for (size_t i = 0; i < 16; ++i) {
    const char c = name[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    h = h << 4 | uint64_t(d);
  }
  *hash = h;
  return true;
}

}  // namespace

StateCache::StateCache(StateCacheOptions options) : opt_(std::move(options)) {
  seed_ = XXH3_64bits(opt_.model_identity.data(), opt_.model_identity.size());
}

std::unique_ptr<StateCache> StateCache::Open(StateCacheOptions options, std::string* error) {
  std::unique_ptr<StateCache> cache(new StateCache(std::move(options)));
  if (!cache->Index(error)) return nullptr;
  cache->writer_ = std::thread([c = cache.get()] { c->WriterLoop(); });
  return cache;
}

StateCache::~StateCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

std::string StateCache::PathOf(uint64_t hash) const {
  char name[32];
  std::snprintf(name, sizeof name, "%016" PRIx64 "%s", hash, kSuffix);
  return (fs::path(opt_.dir) / name).string();
}

uint64_t StateCache::Hash(const floe_token* tokens, size_t n) const {
  return XXH3_64bits_withSeed(tokens, n * sizeof(floe_token), seed_);
}

void StateCache::Refuse(const std::string& path, const std::string& why) {
  std::fprintf(stderr, "floe-serve: cache: refusing %s: %s\n", path.c_str(), why.c_str());
  std::lock_guard<std::mutex> lock(mu_);
  stats_.refused += 1;
}

bool StateCache::Index(std::string* error) {
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  if (ec || !fs::is_directory(opt_.dir, ec)) {
    *error = "--cache-dir " + opt_.dir + ": cannot create the folder" +
             (ec ? ": " + ec.message() : std::string());
    return false;
  }
  struct Found {
    uint64_t hash;
    Entry entry;
    fs::file_time_type mtime;
  };
  std::vector<Found> found;
  fs::directory_iterator it(opt_.dir, ec), end;
  if (ec) {
    *error = "--cache-dir " + opt_.dir + ": " + ec.message();
    return false;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (name.rfind(kTempPrefix, 0) == 0) {  // a write that a killed server left unfinished
      fs::remove(it->path(), ec);
      continue;
    }
    uint64_t hash = 0;
    if (!ParseName(name, &hash) || !it->is_regular_file(ec)) continue;
    const std::string path = it->path().string();
    const uint64_t size = it->file_size(ec);
    File f{OpenRegular(path)};
    uint64_t n = 0;
    if (ec || !f.f || !ReadHeader(f.f, size, &n)) {
      Refuse(path, "not a floe-serve state file (bad header or size)");
      ec.clear();
      continue;
    }
    found.push_back({hash, Entry{n, size, 0}, it->last_write_time(ec)});
    ec.clear();
  }
  // Least recently used first: file times carry the order across restarts.
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard<std::mutex> lock(mu_);
  for (Found& x : found) {
    x.entry.last_used = ++clock_;
    index_[x.hash] = x.entry;
    stats_.bytes += x.entry.bytes;
  }
  EvictLocked();
  return true;
}

size_t StateCache::Restore(floe_session* session, const std::vector<floe_token>& prompt,
                           size_t longer_than) {
  // Candidate lengths, then one pass of a streaming hash over the prompt gives every prefix's.
  std::vector<uint64_t> lengths;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [hash, e] : index_)
      if (e.n_tokens > longer_than && e.n_tokens <= prompt.size()) lengths.push_back(e.n_tokens);
  }
  if (lengths.empty()) return 0;
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  std::vector<std::pair<uint64_t, uint64_t>> matches;  // (length, hash)
  XXH3_state_t st;
  XXH3_64bits_reset_withSeed(&st, seed_);
  uint64_t done = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t len : lengths) {
      XXH3_64bits_update(&st, prompt.data() + done, (len - done) * sizeof(floe_token));
      done = len;
      const uint64_t h = XXH3_64bits_digest(&st);
      auto it = index_.find(h);
      if (it != index_.end() && it->second.n_tokens == len) matches.push_back({len, h});
    }
  }
  // Longest first; a refused file falls back to the next.
  for (auto m = matches.rbegin(); m != matches.rend(); ++m) {
    const auto [len, hash] = *m;
    const std::string path = PathOf(hash);
    auto drop = [&](const std::string& why) {
      Refuse(path, why);
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(hash);
      if (it != index_.end()) {
        stats_.bytes -= it->second.bytes;
        index_.erase(it);
      }
    };
    File f{OpenRegular(path)};
    if (!f.f) {
      drop(errno == EINVAL ? std::string("not a regular file")
                           : std::string("cannot open: ") + std::strerror(errno));
      continue;
    }
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    uint64_t n = 0, m_bytes = 0;
    if (ec || !ReadHeader(f.f, size, &n) || n != len) {
      drop("bad header");
      continue;
    }
    std::vector<floe_token> tokens(n);
    if (std::fread(tokens.data(), sizeof(floe_token), n, f.f) != n ||
        !std::equal(tokens.begin(), tokens.end(), prompt.begin())) {
      drop("its tokens are not the prefix its name says");
      continue;
    }
    // ReadHeader bounded n by this file's size (read just now), so this cannot wrap.
    if (!ReadU64(f.f, &m_bytes) || m_bytes != size - 24 - n * sizeof(floe_token)) {
      drop("the state size does not match the file's");
      continue;
    }
    std::vector<uint8_t> state;
    try {
      state.resize(m_bytes);
    } catch (const std::bad_alloc&) {
      drop("no memory for its " + std::to_string(m_bytes) + " bytes");
      continue;
    }
    if (std::fread(state.data(), 1, m_bytes, f.f) != m_bytes) {
      drop("truncated");
      continue;
    }
    if (floe_session_state_load(session, state.data(), state.size()) != FLOE_OK) {
      drop(std::string("the state does not load: ") + floe_session_last_error(session));
      continue;
    }
    if (floe_session_position(session) != n) {
      // The state loaded but holds another length: the session must not be used as a prefix.
      floe_session_reset(session);
      drop("its state holds a different number of tokens than the file");
      continue;
    }
    fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // most recently used
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(hash);
    if (it != index_.end()) it->second.last_used = ++clock_;
    stats_.restored += 1;
    stats_.restored_tokens += n;
    return n;
  }
  return 0;
}

void StateCache::Save(floe_session* session, const std::vector<floe_token>& tokens) {
  if (tokens.empty() || tokens.size() < opt_.min_tokens) return;
  if (floe_session_position(session) != tokens.size()) return;  // history and state disagree
  const uint64_t hash = Hash(tokens.data(), tokens.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(hash);
    if (it != index_.end() && it->second.n_tokens == tokens.size()) {
      it->second.last_used = ++clock_;
      return;
    }
    if (queue_.size() >= kMaxQueued) return;
    for (const Pending& p : queue_)
      if (p.hash == hash) return;
  }
  size_t size = 0, written = 0;
  if (floe_session_state_size(session, &size) != FLOE_OK) return;
  Pending p;
  try {
    p = Pending{hash, tokens, std::vector<uint8_t>(size)};
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "floe-serve: cache: no memory to save a state of %zu bytes\n", size);
    return;
  }
  if (floe_session_state_save(session, p.state.data(), size, &written) != FLOE_OK) return;
  p.state.resize(written);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(p));
  }
  cv_.notify_all();
}

void StateCache::WriterLoop() {
  for (;;) {
    Pending p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      p = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
    }
    Write(p);
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
    }
    cv_.notify_all();
  }
}

void StateCache::Write(Pending& p) {
  const std::string path = PathOf(p.hash);
  const std::string temp =
      (fs::path(opt_.dir) / (kTempPrefix + fs::path(path).filename().string() + "-" +
                             std::to_string(getpid())))
          .string();
  const uint64_t n = p.tokens.size(), m = p.state.size();
  const uint64_t bytes = 24 + n * sizeof(floe_token) + m;
  bool ok = false;
  {
    File f{std::fopen(temp.c_str(), "wb")};
    ok = f.f && std::fwrite(kMagic, 1, 8, f.f) == 8 && std::fwrite(&n, 8, 1, f.f) == 1 &&
         std::fwrite(p.tokens.data(), sizeof(floe_token), n, f.f) == n &&
         std::fwrite(&m, 8, 1, f.f) == 1 && std::fwrite(p.state.data(), 1, m, f.f) == m &&
         std::fflush(f.f) == 0 && fsync(fileno(f.f)) == 0;
    if (f.f && std::fclose(f.f) != 0) ok = false;
    f.f = nullptr;
  }
  std::error_code ec;
  if (ok) fs::rename(temp, path, ec);
  if (!ok || ec) {
    std::fprintf(stderr, "floe-serve: cache: cannot write %s: %s\n", path.c_str(),
                 ec ? ec.message().c_str() : std::strerror(errno));
    fs::remove(temp, ec);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(p.hash);
  if (it != index_.end()) stats_.bytes -= it->second.bytes;
  index_[p.hash] = Entry{n, bytes, ++clock_};
  stats_.bytes += bytes;
  stats_.saved += 1;
  EvictLocked();
}

void StateCache::EvictLocked() {
  while (stats_.bytes > opt_.max_bytes && !index_.empty()) {
    auto oldest = index_.begin();
    for (auto it = index_.begin(); it != index_.end(); ++it)
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    std::error_code ec;
    fs::remove(PathOf(oldest->first), ec);
    stats_.bytes -= oldest->second.bytes;
    stats_.evicted += 1;
    index_.erase(oldest);
  }
}

StateCacheStats StateCache::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  StateCacheStats s = stats_;
  s.files = index_.size();
  return s;
}

void StateCache::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

}  // namespace floe::serve
