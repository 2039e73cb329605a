// The checkpoint of the document in progress, in a state folder: the session state
// (floe_session_state_save_file, itself written to a temporary file and renamed) under a name
// unique to the position, then checkpoint.json naming it (written atomically: the commit point),
// then the previous state file removed. A kill at any moment leaves checkpoint.json naming a
// complete state file, or no checkpoint.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "floe/floe.h"

namespace floe::longdoc {

struct Checkpoint {
  std::string settings;  // the run's settings; a checkpoint of other settings is refused
  size_t doc_index = 0;  // in input order
  std::string document;  // its id
  size_t next = 0;       // the next position to predict
  size_t base = 0;       // the first token the saved session holds
  std::string state;     // state file name, inside the folder
  nlohmann::json stats;  // DocStats::Save()
};

class CheckpointDir {
 public:
  explicit CheckpointDir(std::string dir) : dir_(std::move(dir)) {}
  bool Create(std::string* error) const;
  // Saves the session and `c` (c.state is set here).
  bool Save(floe_session* session, Checkpoint c, std::string* error);
  // False with an empty *error when there is none.
  bool Load(Checkpoint* c, std::string* error) const;
  // Restores the session from c's state file.
  bool Restore(floe_session* session, const Checkpoint& c, std::string* error);
  // Removes the checkpoint (after its document completed).
  void Clear();

 private:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
  std::string last_state_;  // the state file the current checkpoint.json names
};

}  // namespace floe::longdoc
