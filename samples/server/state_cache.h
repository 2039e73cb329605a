// Saved session states on disk (--cache-dir), so that a restart resumes long documents.
// When a request finishes, the scheduler hands its session's state (floe_session_state_save)
// and token history to Save; a writer thread stores them as one file named by a hash of the
// tokens, written to a temporary file and renamed (a reader never sees half a file). A later
// request whose prompt extends a saved history restores that state (Restore) and evaluates
// only the rest of its prompt.
//
// File: "FLOESRV1", uint64 token count n, n int32 tokens, uint64 state size m, m state bytes
// (the C API's format, with its own checksum). Native byte order: a cache belongs to one
// machine. Its name is the XXH3-64 of the tokens seeded with the model's identity (file name,
// size, architecture, vocabulary, context, KV type), in hex, + ".fstate"; so another model's
// states in the same folder are never tried.
//
// Files are hostile input: a wrong magic, a count beyond the file's size, tokens that differ
// from the name's prefix, or a state the C API refuses are refused with a log line on stderr
// and left alone (they are dropped from the index; the request prefills instead). Bounded:
// past max_bytes the least recently used states are deleted. One server per folder.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "floe/floe.h"

namespace floe::serve {

struct StateCacheOptions {
  std::string dir;
  uint64_t max_bytes = uint64_t(1) << 30;  // total size of the saved files at most
  size_t min_tokens = 32;                  // shorter histories are not saved
  std::string model_identity;              // seeds the file-name hash (see above)
};

struct StateCacheStats {
  uint64_t saved = 0, restored = 0, restored_tokens = 0, refused = 0, evicted = 0, bytes = 0,
           files = 0;  // files: the index size, filled in by stats()
};

class StateCache {
 public:
  // Creates the folder when missing, removes temporary files a killed server left, and indexes
  // the saved states (reading only their headers). nullptr and *error when the folder cannot be
  // created or read.
  static std::unique_ptr<StateCache> Open(StateCacheOptions options, std::string* error);
  ~StateCache();  // writes what is queued, then returns
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  // Scheduler thread. Restores into `session` the longest saved history that is a prefix of
  // `prompt` (or all of it: the state holds the logits after its last token) and longer than
  // `longer_than` tokens; returns its length, or 0 when there is none or every candidate file is
  // refused (the session is then unchanged, or reset when a state loaded with another length).
  size_t Restore(floe_session* session, const std::vector<floe_token>& prompt,
                 size_t longer_than);
  // Scheduler thread. Serialises the session's state now and queues it for writing, keyed by
  // `tokens` (what the session has evaluated). Skipped when too short or already saved.
  void Save(floe_session* session, const std::vector<floe_token>& tokens);

  StateCacheStats stats();
  // The writer has stored everything queued so far (tests, shutdown).
  void Flush();

 private:
  struct Entry {
    uint64_t n_tokens = 0, bytes = 0, last_used = 0;
  };
  struct Pending {
    uint64_t hash = 0;
    std::vector<floe_token> tokens;
    std::vector<uint8_t> state;
  };
  explicit StateCache(StateCacheOptions options);
  bool Index(std::string* error);
  void WriterLoop();
  void Write(Pending& p);
  void EvictLocked();  // under mu_
  void Refuse(const std::string& path, const std::string& why);
  std::string PathOf(uint64_t hash) const;
  uint64_t Hash(const floe_token* tokens, size_t n) const;

  const StateCacheOptions opt_;
  uint64_t seed_ = 0;
  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::map<uint64_t, Entry> index_;  // by hash
  std::deque<Pending> queue_;
  bool writing_ = false, stop_ = false;
  uint64_t clock_ = 0;
  StateCacheStats stats_;
  std::thread writer_;
};

}  // namespace floe::serve
