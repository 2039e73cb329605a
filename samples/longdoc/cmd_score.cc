// floe longdoc score: per-document perplexity, bits per byte and the most surprising spans, as
// JSON lines, resumable after a kill (results appended per document, the document in progress
// checkpointed every N tokens).
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "checks.h"
#include "doc_result.h"
#include "doc_stats.h"
#include "doc_tokens.h"
#include "durable_file.h"
#include "longdoc.h"
#include "mpi_ranks.h"
#include "progress.h"
#include "run_flags.h"
#include "runner.h"

namespace floe::longdoc {

namespace {

struct ScoreFlags {
  RunFlags run;
  size_t top_spans = 5;
  size_t span_tokens = 16;
  bool per_token = false;
  size_t checkpoint_every = 0;
  std::string state_dir;
  bool resume = false;
};

// What a checkpoint must agree on to be resumed.
std::string Settings(const ScoreFlags& f) {
  const SessionParams& s = f.run.session;
  // The thread count too: reductions split by thread may round differently.
  return f.run.model.model + "|threads=" + std::to_string(s.threads) +
         "|ctx=" + std::to_string(s.context_length) + "|stride=" + std::to_string(f.run.stride) +
         "|attention=" + AttentionBackendName(s.attention.backend) +
         "|k=" + std::to_string(s.attention.k) + "|window=" + std::to_string(s.attention.window) +
         "|sinks=" + std::to_string(s.attention.sinks) +
         "|dense_below=" + std::to_string(s.attention.dense_below) +
         "|kv=" + DTypeName(s.kv_dtype) + "|spans=" + std::to_string(f.top_spans) + "x" +
         std::to_string(f.span_tokens) + "|per_token=" + std::to_string(f.per_token);
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "floe longdoc score: %s\n", what.c_str());
  return 1;
}

class Scorer {
 public:
  Scorer(const ScoreFlags& f, floe_model* model, floe_session* session, ResultsFile* results,
         CheckpointDir* checkpoints, ScoreProgress* progress)
      : f_(f),
        model_(model),
        session_(session),
        results_(results),
        ckpt_(checkpoints),
        progress_(progress),
        context_(SessionContext(model, f.run.session)) {}

  // Scores document `index`, resuming from `resume` when it is non-null. False: a failure that
  // stops the run (writing results or checkpoints); per-document problems are result lines.
  //
  // Positions are scored with floe_session_score in chunks aligned to multiples of the session's
  // batch (and cut at window ends), so an uninterrupted and a resumed run compute the same
  // chunks; checkpoints fall on chunk ends. A document the session carries whatever its length
  // (recurrent models) is streamed (DocTokens), so memory does not grow with it.
  bool Score(size_t index, const DocumentRef& ref, const Checkpoint* resume, std::string* error) {
    std::string why;
    DocTokens doc;
    // Tokens never outnumber bytes + 2 (BOS, a dummy prefix): such a document cannot slide.
    const bool stream = context_ >= ref.size + 2;
    if (!doc.Open(model_, ref, f_.run.corpus, stream, &why)) return Report(ref, why, error);
    DocInfo info{&ref, doc.bytes(), floe_model_bos(model_) >= 0 ? size_t(1) : size_t(0), 0, 0};
    if (doc.whole()) {
      if (doc.tokens().size() < 2)
        return Report(ref,
                      "empty document: no token to predict (" + std::to_string(doc.bytes()) +
                          " bytes)",
                      error);
      if (!PlanWindows(doc.tokens().size(), context_, f_.run.stride, &info.window, &info.stride,
                       &why))
        return Report(ref, why, error);
    }
    // The tokens: all of a whole document; [lo, lo + buf.size()) of a streamed one.
    std::vector<floe_token> buf;
    size_t lo = 0;
    bool ended = doc.whole();
    auto total = [&] { return doc.whole() ? doc.tokens().size() : lo + buf.size(); };
    auto load = [&](size_t q) {  // makes tokens [.., q) present where the document has them
      floe_token t;
      while (!ended && lo + buf.size() < q) {
        if (doc.Next(&t, &why))
          buf.push_back(t);
        else if (why.empty())
          ended = true;
        else
          return false;
      }
      return true;
    };
    auto at = [&](size_t i) { return doc.whole() ? &doc.tokens()[i] : &buf[i - lo]; };
    auto drop = [&](size_t p) {  // a streamed document's tokens before p are not needed again
      if (!doc.whole() && p > lo) {
        buf.erase(buf.begin(), buf.begin() + std::ptrdiff_t(p - lo));
        lo = p;
      }
    };

    DocStats stats(f_.top_spans, f_.span_tokens, f_.per_token);
    ByteTracker bytes(model_, info.first);
    size_t p = 1, base = 0;
    bool started = false;
    if (resume) {
      if (!load(resume->next)) return Report(ref, why, error);
      if (resume->next < 1 || resume->next > total() || resume->base > resume->next) {
        *error = "the checkpoint (next token " + std::to_string(resume->next) + ") does not fit " +
                 ref.id + " (" + std::to_string(total()) + (ended ? "" : "+") +
                 " tokens): did the document change? Remove the state folder to restart it";
        return false;
      }
      if (!stats.Load(resume->stats)) {
        *error = "the checkpoint's statistics are unreadable";
        return false;
      }
      if (!ckpt_->Restore(session_, *resume, error)) return false;
      base = resume->base;
      started = true;
      p = resume->next;
      std::fprintf(stderr, "floe longdoc score: resuming %s at token %zu\n", ref.id.c_str(),
                   p - info.first);
    }
    if (!load(p)) return Report(ref, why, error);
    for (size_t i = 0; i < p && i < total(); ++i) bytes.Push(*at(i));
    if (started) drop(p);  // a restored session holds them; a fresh one evaluates token 0 next

    progress_->StartDocument(doc.bytes(), doc.whole() ? doc.tokens().size() : 0);
    const size_t chunk = std::max<size_t>(f_.run.session.batch, 1);
    std::vector<double> nll;
    for (;;) {
      if (!load(p + 1)) return Report(ref, why, error);
      if (p >= total()) break;
      const size_t start = WindowStartOf(p, info.window, info.stride);
      if (!started || start != base) {  // a new window (or the first): its context at once
        floe_session_reset(session_);
        base = start;
        started = true;
        if (floe_session_eval(session_, at(start), p - start) != FLOE_OK)
          return Report(ref, "evaluating tokens " + std::to_string(start) + ".." +
                                 std::to_string(p) + ": " + floe_session_last_error(session_),
                        error);
      }
      size_t q = (p / chunk + 1) * chunk;
      if (info.window) q = std::min(q, start + info.window);
      if (!load(q)) return Report(ref, why, error);
      q = std::min(q, total());
      nll.resize(q - p);
      if (floe_session_score(session_, at(p), q - p, nll.data()) != FLOE_OK)
        return Report(ref, "scoring tokens " + std::to_string(p) + ".." + std::to_string(q) +
                               ": " + floe_session_last_error(session_),
                      error);
      for (size_t i = p; i < q; ++i) {
        const uint64_t offset = bytes.Offset();
        bytes.Push(*at(i));
        stats.Add(i, nll[i - p], offset);
      }
      progress_->Tokens(q - 1, bytes.Offset());
      const size_t from = p;
      p = q;
      if (info.window == 0) drop(p);
      if (!load(p + 1)) return Report(ref, why, error);
      if (f_.checkpoint_every && (p - 1) / f_.checkpoint_every != (from - 1) / f_.checkpoint_every &&
          p < total()) {
        Checkpoint c{settings_, index, ref.id, p, base, "", stats.Save()};
        if (!ckpt_->Save(session_, std::move(c), error)) return false;
      }
    }
    if (total() < 2)
      return Report(ref,
                    "empty document: no token to predict (" + std::to_string(doc.bytes()) +
                        " bytes)",
                    error);
    stats.Finish(bytes.Offset());
    const bool ok = results_->Append(Dump(ResultJson(info, total(), stats, doc)), error);
    if (ok && f_.checkpoint_every) ckpt_->Clear();
    progress_->EndDocument();
    return ok;
  }

  void set_settings(std::string s) { settings_ = std::move(s); }

 private:
  // A document that cannot be scored: its line says why, and the run goes on.
  bool Report(const DocumentRef& ref, const std::string& why, std::string* error) {
    if (why.rfind(ref.id, 0) == 0)  // the message names the document already
      std::fprintf(stderr, "floe longdoc score: %s\n", why.c_str());
    else
      std::fprintf(stderr, "floe longdoc score: %s: %s\n", ref.id.c_str(), why.c_str());
    progress_->EndDocument(/*skipped=*/true);
    const bool ok = results_->Append(Dump(ErrorJson(ref, why)), error);
    if (ok && f_.checkpoint_every) ckpt_->Clear();
    return ok;
  }

  const ScoreFlags& f_;
  floe_model* model_;
  floe_session* session_;
  ResultsFile* results_;
  CheckpointDir* ckpt_;
  ScoreProgress* progress_;
  size_t context_;
  std::string settings_;
};

// The checks of an existing results file against the inputs.
bool CheckDone(const std::string& out, const std::vector<std::string>& done,
               const std::vector<DocumentRef>& docs, std::string* error) {
  if (done.size() > docs.size()) {
    *error = "'" + out + "' has more results than inputs";
    return false;
  }
  for (size_t i = 0; i < done.size(); ++i)
    if (done[i] != docs[i].id) {
      *error = "'" + out + "' line " + std::to_string(i + 1) + " is document '" + done[i] +
               "', the inputs' is '" + docs[i].id + "': not a run of these inputs";
      return false;
    }
  return true;
}

uint64_t TotalBytes(const std::vector<DocumentRef>& docs) {
  uint64_t bytes = 0;
  for (const DocumentRef& d : docs) bytes += d.size;
  return bytes;
}

int Run(const ScoreFlags& f) {
  std::string error;
  ModelPtr model = LoadModel(f.run.model, &error);
  if (!model) return Fail(error);
  SessionPtr session = CreateSession(model.get(), f.run.session, &error);
  if (!session) return Fail(error);

  const std::vector<DocumentRef> docs = ListDocuments(f.run.inputs, f.run.corpus);
  if (f.resume && f.run.out != "-" && std::filesystem::exists(f.run.out + ".rank0"))
    return Fail("'" + f.run.out + ".rank0' exists: the run was started under mpirun; resume it " +
                "with the same mpirun -np");
  ResultsFile results;
  std::vector<std::string> done;
  if (!results.Open(f.run.out, f.resume, &done, &error)) return Fail(error);
  if (!CheckDone(f.run.out, done, docs, &error)) return Fail(error);

  const std::string state_dir = f.state_dir.empty() ? f.run.out + ".state" : f.state_dir;
  CheckpointDir ckpt(state_dir);
  Checkpoint resume;
  bool have_resume = false;
  if (f.checkpoint_every) {
    if (f.run.out == "-" && f.state_dir.empty())
      return Fail("--checkpoint-every needs --out FILE or --state-dir DIR");
    if (!ckpt.Create(&error)) return Fail(error);
    if (f.resume) {
      have_resume = ckpt.Load(&resume, &error);
      if (!error.empty()) return Fail(error);
      if (have_resume && resume.settings != Settings(f))
        return Fail("the checkpoint in '" + state_dir + "' was made with other settings (" +
                    resume.settings + ")");
      // A checkpoint of a document that completed since (killed before it was cleared) is stale.
      if (have_resume && (resume.doc_index != done.size() || resume.doc_index >= docs.size() ||
                          resume.document != docs[resume.doc_index].id))
        have_resume = false;
    }
    if (!have_resume) ckpt.Clear();
  }

  ScoreProgress progress(f.run.model.progress, f.run.progress_every, docs.size(),
                         TotalBytes(docs));
  for (size_t i = 0; i < done.size(); ++i) {
    progress.StartDocument(docs[i].size, 0);
    progress.EndDocument(/*skipped=*/true);
  }
  Scorer scorer(f, model.get(), session.get(), &results, &ckpt, &progress);
  scorer.set_settings(Settings(f));
  for (size_t i = done.size(); i < docs.size(); ++i) {
    if (!scorer.Score(i, docs[i], have_resume && i == resume.doc_index ? &resume : nullptr,
                      &error)) {
      progress.Finish();
      return Fail(error);
    }
  }
  progress.Finish();
  return 0;
}

// Under mpirun (docs/longdoc.md): documents are handed out largest first from a counter shared
// by the ranks (SharedCounter), so a rank takes the next one the moment it finishes one. Rank r
// appends its results to OUT.rank<r> and checkpoints its document in progress in
// STATE/rank<r>; when every rank succeeded, rank 0 merges the parts into OUT in input order and
// removes them. --resume continues a killed run started with the same number of ranks: every
// rank first finishes the document its own checkpoint holds, then documents no part has and no
// checkpoint holds.
int RunRanks(const ScoreFlags& f, const MpiRanks& mpi) {
  const int rank = mpi.rank(), ranks = mpi.size();
  if (f.run.out == "-") return Fail("under mpirun --out FILE is needed (the ranks write parts of it)");
  const std::vector<DocumentRef> docs = ListDocuments(f.run.inputs, f.run.corpus);
  {  // the merge and the shared bookkeeping identify documents by id
    std::set<std::string> ids;
    for (const DocumentRef& d : docs)
      if (!ids.insert(d.id).second)
        return Fail("under mpirun every document must appear once; '" + d.id + "' is listed twice");
  }
  auto part_of = [&](int r) { return f.run.out + ".rank" + std::to_string(r); };
  const std::string state_root = f.state_dir.empty() ? f.run.out + ".state" : f.state_dir;
  auto state_of = [&](int r) { return state_root + "/rank" + std::to_string(r); };
  const std::string settings = Settings(f);

  // 1. Every rank opens its part (resume: keeping its complete lines) and its checkpoint folder.
  std::string error;
  bool ok = true;
  ModelPtr model = LoadModel(f.run.model, &error);
  SessionPtr session = model ? CreateSession(model.get(), f.run.session, &error) : nullptr;
  ok = session != nullptr;
  if (ok && rank == 0 && std::filesystem::exists(f.run.out)) {
    ok = false;
    error = "'" + f.run.out + "' exists; remove it first";
  }
  if (ok && rank == 0 && f.resume && std::filesystem::exists(part_of(ranks))) {
    ok = false;
    error = "'" + part_of(ranks) + "' exists: the run was started with more ranks; resume it with "
            "the same mpirun -np";
  }
  if (ok && !f.resume) std::remove(part_of(rank).c_str());
  ResultsFile results;
  std::vector<std::string> mine;
  ok = ok && results.Open(part_of(rank), f.resume, &mine, &error);
  CheckpointDir ckpt(state_of(rank));
  if (ok && f.checkpoint_every) ok = ckpt.Create(&error);
  if (!ok) std::fprintf(stderr, "floe longdoc score: rank %d: %s\n", rank, error.c_str());
  if (!mpi.AllOk(ok)) return 1;

  // 2. What is done (any part) and what a checkpoint holds (any rank's), read while nobody writes.
  std::vector<char> taken(docs.size(), 0);
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < docs.size(); ++i) index_of[docs[i].id] = i;
  for (int r = 0; ok && r < ranks; ++r) {
    std::vector<ResultLine> lines;
    uint64_t complete = 0;
    if (!std::filesystem::exists(part_of(r))) continue;
    ok = ReadResultLines(part_of(r), &lines, &complete, &error);
    for (const ResultLine& l : lines) {
      auto it = index_of.find(l.document);
      if (it == index_of.end()) {
        ok = false;
        error = "'" + part_of(r) + "' holds document '" + l.document + "', which is not an input";
      } else {
        taken[it->second] = 1;
      }
    }
  }
  Checkpoint own;
  bool have_own = false;
  for (int r = 0; ok && f.resume && f.checkpoint_every && r < ranks; ++r) {
    Checkpoint c;
    std::string why;
    if (!CheckpointDir(state_of(r)).Load(&c, &why)) {
      if (!why.empty()) ok = false, error = why;
      continue;
    }
    if (c.settings != settings) {
      ok = false;
      error = "the checkpoint in '" + state_of(r) + "' was made with other settings (" +
              c.settings + ")";
      continue;
    }
    // Stale (its document completed before the checkpoint was cleared) or not of these inputs.
    if (c.doc_index >= docs.size() || docs[c.doc_index].id != c.document || taken[c.doc_index])
      continue;
    taken[c.doc_index] = 1;  // the rank that made it finishes it
    if (r == rank) own = std::move(c), have_own = true;
  }
  if (!ok) std::fprintf(stderr, "floe longdoc score: rank %d: %s\n", rank, error.c_str());
  if (!mpi.AllOk(ok)) return 1;
  if (f.checkpoint_every && !have_own) ckpt.Clear();  // stale, or of an earlier run

  // 3. Score: the own checkpoint first, then documents from the shared counter, largest first.
  std::vector<size_t> order(docs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return docs[a].size > docs[b].size; });
  uint64_t left_bytes = 0;
  size_t left_docs = 0;
  for (size_t i = 0; i < docs.size(); ++i)
    if (!taken[i] || (have_own && i == own.doc_index)) left_bytes += docs[i].size, ++left_docs;
  std::fprintf(stderr,
               "floe longdoc score: rank %d of %d: %zu documents left, handed out largest first\n",
               rank, ranks, left_docs);
  // Rank 0 shows its progress against an even share of what is left.
  ScoreProgress progress(rank == 0 ? f.run.model.progress : cli::ProgressMode::kOff,
                         rank == 0 ? f.run.progress_every : 0,
                         (left_docs + size_t(ranks) - 1) / size_t(ranks),
                         left_bytes / uint64_t(ranks));
  Scorer scorer(f, model.get(), session.get(), &results, &ckpt, &progress);
  scorer.set_settings(settings);
  size_t scored = 0;
  if (have_own) {
    ok = scorer.Score(own.doc_index, docs[own.doc_index], &own, &error);
    ++scored;
  }
  SharedCounter counter(mpi);
  while (ok) {
    const size_t k = counter.Next();
    if (k >= order.size()) break;
    if (taken[order[k]]) continue;
    ok = scorer.Score(order[k], docs[order[k]], nullptr, &error);
    ++scored;
  }
  counter.Close();
  progress.Finish();
  if (ok)
    std::fprintf(stderr, "floe longdoc score: rank %d of %d scored %zu documents\n", rank, ranks,
                 scored);
  else
    std::fprintf(stderr, "floe longdoc score: rank %d: %s\n", rank, error.c_str());
  if (!mpi.AllOk(ok)) return 1;
  if (rank != 0) return 0;

  // 4. Rank 0 merges the parts in input order.
  std::map<std::string, std::string> line_of;
  for (int r = 0; r < ranks; ++r) {
    std::vector<ResultLine> lines;
    uint64_t complete = 0;
    if (!ReadResultLines(part_of(r), &lines, &complete, &error))
      return Fail(error + " (the ranks must share the folder)");
    for (ResultLine& l : lines) line_of.emplace(std::move(l.document), std::move(l.text));
  }
  ResultsFile merged;
  std::vector<std::string> none;
  if (!merged.Open(f.run.out, false, &none, &error)) return Fail(error);
  for (const DocumentRef& d : docs) {
    auto it = line_of.find(d.id);
    if (it == line_of.end()) return Fail("no rank has a result for '" + d.id + "'");
    if (!merged.Append(it->second, &error)) return Fail(error);
  }
  std::error_code ec;
  for (int r = 0; r < ranks; ++r) {
    std::remove(part_of(r).c_str());
    if (f.checkpoint_every) std::filesystem::remove_all(state_of(r), ec);
  }
  if (f.checkpoint_every) std::filesystem::remove(state_root, ec);  // only when empty
  return 0;
}

int RunAny(const ScoreFlags& f) {
  MpiRanks mpi;
  return mpi.size() > 1 ? RunRanks(f, mpi) : Run(f);
}

}  // namespace

cli::Verb AddScore(CLI::App& longdoc) {
  auto f = std::make_shared<ScoreFlags>();
  CLI::App* app = longdoc.add_subcommand(
      "score", "per-document perplexity, bits per byte and most surprising spans (JSON lines)");
  AddRunFlags(app, &f->run);
  app->add_option("--top-spans", f->top_spans, "most surprising spans listed per document")
      ->check(cli::IntAtLeast(0));
  app->add_option("--span-tokens", f->span_tokens, "tokens per span")->check(cli::IntAtLeast(1));
  app->add_flag("--per-token", f->per_token, "list every predicted token's NLL (token_nll)");
  app->add_option("--checkpoint-every", f->checkpoint_every,
                  "save the session of the document in progress every N tokens (0 = never)")
      ->check(cli::IntAtLeast(0));
  app->add_option("--state-dir", f->state_dir, "checkpoint folder (default: OUT.state)")
      ->type_name("DIR");
  app->add_flag("--resume", f->resume,
                "continue a killed run: skip the documents in --out, resume the checkpoint");
  return {app, [f] { return RunAny(*f); }};
}

}  // namespace floe::longdoc
