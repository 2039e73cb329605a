#include "documents.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace floe::longdoc {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool IsCorpus(const fs::path& p, const CorpusOptions& o) {
  return o.all_jsonl || p.extension() == ".jsonl";
}

// Parses one JSONL line: on success *text (when wanted) and *id (empty when the record has none).
bool ParseRecord(const std::string& line, const CorpusOptions& o, std::string* id,
                 std::string* text, std::string* error) {
  json rec = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (rec.is_discarded()) {
    *error = "not JSON";
    return false;
  }
  if (!rec.is_object()) {
    *error = "not a JSON object";
    return false;
  }
  auto t = rec.find(o.text_field);
  if (t == rec.end() || !t->is_string()) {
    *error = "no string field \"" + o.text_field + "\"";
    return false;
  }
  if (text) *text = t->get<std::string>();
  id->clear();
  auto i = rec.find(o.id_field);
  if (i != rec.end()) *id = i->is_string() ? i->get<std::string>() : i->dump();
  return true;
}

void ListCorpus(const std::string& path, const CorpusOptions& o, std::vector<DocumentRef>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out->push_back({path, path, 0, 0, 0, "cannot open '" + path + "'"});
    return;
  }
  std::string line;
  uint64_t offset = 0;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    const uint64_t next = offset + line.size() + 1;
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      DocumentRef d{path + ":" + std::to_string(lineno), path, lineno, offset, line.size(), ""};
      std::string id, err;
      if (!ParseRecord(line, o, &id, nullptr, &err))
        d.error = path + ":" + std::to_string(lineno) + ": " + err;
      else if (!id.empty())
        d.id = id;
      out->push_back(std::move(d));
    }
    offset = next;
  }
  if (in.bad()) out->push_back({path, path, 0, 0, 0, "error reading '" + path + "'"});
}

void ListFile(const fs::path& p, const CorpusOptions& o, std::vector<DocumentRef>* out) {
  const std::string path = p.string();
  if (IsCorpus(p, o)) return ListCorpus(path, o, out);
  std::error_code ec;
  const uintmax_t size = fs::file_size(p, ec);
  out->push_back({path, path, 0, 0, ec ? 0 : uint64_t(size), ""});
}

}  // namespace

std::vector<DocumentRef> ListDocuments(const std::vector<std::string>& inputs,
                                       const CorpusOptions& o) {
  std::vector<DocumentRef> docs;
  for (const std::string& input : inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(input, ec);
    if (ec || !fs::exists(st)) {
      docs.push_back({input, input, 0, 0, 0, "no such file or folder '" + input + "'"});
    } else if (fs::is_directory(st)) {
      std::vector<fs::path> files;
      fs::recursive_directory_iterator it(input, fs::directory_options::skip_permission_denied, ec);
      for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) files.push_back(it->path());
      if (ec)
        docs.push_back({input, input, 0, 0, 0, "cannot list '" + input + "': " + ec.message()});
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) ListFile(f, o, &docs);
    } else {
      ListFile(input, o, &docs);
    }
  }
  return docs;
}

bool ReadDocument(const DocumentRef& doc, const CorpusOptions& o, std::string* text,
                  std::string* error) {
  if (!doc.error.empty()) {
    *error = doc.error;
    return false;
  }
  std::ifstream in(doc.path, std::ios::binary);
  if (!in) {
    *error = "cannot open '" + doc.path + "'";
    return false;
  }
  if (doc.line == 0) {
    text->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      *error = "error reading '" + doc.path + "'";
      return false;
    }
    return true;
  }
  std::string line(doc.size, '\0');
  in.seekg(std::streamoff(doc.offset));
  if (!in.read(line.data(), std::streamsize(line.size()))) {
    *error = doc.path + ":" + std::to_string(doc.line) + ": the file changed while scoring";
    return false;
  }
  std::string id, err;
  if (!ParseRecord(line, o, &id, text, &err)) {
    *error = doc.path + ":" + std::to_string(doc.line) + ": " + err;
    return false;
  }
  return true;
}

}  // namespace floe::longdoc
