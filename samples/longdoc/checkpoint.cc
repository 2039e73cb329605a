#include "checkpoint.h"

#include <filesystem>
#include <system_error>

#include "durable_file.h"

namespace floe::longdoc {

namespace fs = std::filesystem;

bool CheckpointDir::Create(std::string* error) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) {
    *error = "cannot create the state folder '" + dir_ + "'" + (ec ? ": " + ec.message() : "");
    return false;
  }
  return true;
}

bool CheckpointDir::Save(floe_session* session, Checkpoint c, std::string* error) {
  c.state = "doc" + std::to_string(c.doc_index) + "-pos" + std::to_string(c.next) + ".state";
  if (floe_session_state_save_file(session, Path(c.state).c_str()) != FLOE_OK) {
    *error = "cannot save the session state to '" + Path(c.state) +
             "': " + floe_session_last_error(session);
    return false;
  }
  const nlohmann::json j = {{"settings", c.settings}, {"doc_index", c.doc_index},
                            {"document", c.document}, {"next", c.next},
                            {"base", c.base},         {"state", c.state},
                            {"stats", c.stats}};
  if (!WriteFileAtomically(Path("checkpoint.json"), j.dump() + "\n", error)) return false;
  std::error_code ec;
  if (!last_state_.empty() && last_state_ != c.state) fs::remove(Path(last_state_), ec);
  last_state_ = c.state;
  return true;
}

bool CheckpointDir::Load(Checkpoint* c, std::string* error) const {
  error->clear();
  const std::string path = Path("checkpoint.json");
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  std::string data;
  if (!ReadWholeFile(path, &data)) {
    *error = "cannot read '" + path + "'";
    return false;
  }
  try {
    const nlohmann::json j = nlohmann::json::parse(data);
    c->settings = j.at("settings").get<std::string>();
    c->doc_index = j.at("doc_index").get<size_t>();
    c->document = j.at("document").get<std::string>();
    c->next = j.at("next").get<size_t>();
    c->base = j.at("base").get<size_t>();
    c->state = j.at("state").get<std::string>();
    c->stats = j.at("stats");
  } catch (const nlohmann::json::exception& e) {
    *error = "'" + path + "' is not a floe longdoc checkpoint: " + e.what();
    return false;
  }
  if (c->state.find('/') != std::string::npos) {
    *error = "'" + path + "': bad state file name";
    return false;
  }
  return true;
}

bool CheckpointDir::Restore(floe_session* session, const Checkpoint& c, std::string* error) {
  if (floe_session_state_load_file(session, Path(c.state).c_str()) != FLOE_OK) {
    *error = "cannot restore the session state '" + Path(c.state) +
             "': " + floe_session_last_error(session);
    return false;
  }
  last_state_ = c.state;
  return true;
}

void CheckpointDir::Clear() {
  std::error_code ec;
  fs::remove(Path("checkpoint.json"), ec);
  // State files of any earlier run too: none is named by a checkpoint any more.
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".state") fs::remove(it->path(), ec);
  last_state_.clear();
}

}  // namespace floe::longdoc
