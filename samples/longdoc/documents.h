// The documents of a floe longdoc run, from its inputs: files, folders (every regular file
// below, recursively, sorted by path) and JSONL corpora (one document per line: a JSON object
// whose text field holds the text and whose id field, when present, names it). A file is a
// corpus when its name ends in .jsonl, or every file is with --jsonl.
// Listing never fails as a whole: an input that cannot be read, a JSONL line that is not JSON or
// has no text becomes a document carrying its error, which the run reports in its place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace floe::longdoc {

struct CorpusOptions {
  std::string text_field = "text";
  std::string id_field = "id";
  bool all_jsonl = false;  // --jsonl: every file is a corpus
};

struct DocumentRef {
  std::string id;       // the file path, the record's id, or "FILE:LINE"
  std::string path;     // the file the text comes from
  size_t line = 0;      // JSONL: 1-based line; 0 for a whole file
  uint64_t offset = 0;  // JSONL: the line's first byte
  uint64_t size = 0;    // bytes of the file or of the JSONL line (for progress)
  std::string error;    // non-empty: the document cannot be read, and why
};

std::vector<DocumentRef> ListDocuments(const std::vector<std::string>& inputs,
                                       const CorpusOptions& options);

// The text of `doc` (the whole file, or the record's text field). False with *error naming the
// file (and line) when it cannot be read.
bool ReadDocument(const DocumentRef& doc, const CorpusOptions& options, std::string* text,
                  std::string* error);

}  // namespace floe::longdoc
