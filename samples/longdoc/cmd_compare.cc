// floe longdoc compare: the same documents through two settings (A: the usual flags; B: the
// --b-* flags, e.g. --b-attention ice, or another model file of the same vocabulary), position
// by position: per-document perplexities and their difference, the mean KL(A || B) of the two
// next-token distributions, and top-1 agreement; a summary line on stderr.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "attention_flags.h"
#include "checks.h"
#include "doc_result.h"
#include "durable_file.h"
#include "longdoc.h"
#include "progress.h"
#include "run_flags.h"
#include "runner.h"

namespace floe::longdoc {

namespace {

struct CompareFlags {
  RunFlags run;
  std::string b_model;  // empty: A's model
  SessionParams b_session;
  bool b_ctx_set = false;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "floe longdoc compare: %s\n", what.c_str());
  return 1;
}

// log softmax in double; returns the argmax.
int LogSoftmax(const float* l, int vocab, std::vector<double>* out) {
  out->resize(size_t(vocab));
  int best = 0;
  double m = l[0];
  for (int i = 1; i < vocab; ++i)
    if (l[i] > m) m = l[best = i];
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(double(l[i]) - m);
  const double lse = m + std::log(sum);
  for (int i = 0; i < vocab; ++i) (*out)[size_t(i)] = double(l[i]) - lse;
  return best;
}

struct Totals {
  size_t docs = 0, positions = 0, agree = 0;
  double nll_a = 0, nll_b = 0, kl = 0;
};

struct Side {
  floe_session* session;
  size_t context;
  size_t window = 0, stride = 0;
};

int Run(CompareFlags f) {
  std::string error;
  ModelPtr model_a = LoadModel(f.run.model, &error);
  if (!model_a) return Fail(error);
  ModelPtr model_b;
  if (!f.b_model.empty()) {
    cli::ModelFlags mb = f.run.model;
    mb.model = f.b_model;
    model_b = LoadModel(mb, &error);
    if (!model_b) return Fail(f.b_model + ": " + error);
    if (floe_model_vocab_size(model_b.get()) != floe_model_vocab_size(model_a.get()))
      return Fail("the models' vocabularies differ in size");
  }
  floe_model* mb = model_b ? model_b.get() : model_a.get();
  f.b_session.threads = f.run.session.threads;
  if (!f.b_ctx_set) f.b_session.context_length = f.run.session.context_length;
  SessionPtr sa = CreateSession(model_a.get(), f.run.session, &error);
  if (!sa) return Fail("A: " + error);
  SessionPtr sb = CreateSession(mb, f.b_session, &error);
  if (!sb) return Fail("B: " + error);
  const int vocab = floe_model_vocab_size(model_a.get());

  const std::vector<DocumentRef> docs = ListDocuments(f.run.inputs, f.run.corpus);
  ResultsFile results;
  std::vector<std::string> done;
  if (!results.Open(f.run.out, false, &done, &error)) return Fail(error);
  uint64_t bytes = 0;
  for (const DocumentRef& d : docs) bytes += d.size;
  ScoreProgress progress(f.run.model.progress, f.run.progress_every, docs.size(), bytes);
  Side a{sa.get(), SessionContext(model_a.get(), f.run.session)};
  Side b{sb.get(), SessionContext(mb, f.b_session)};
  Totals total;
  std::vector<double> la, lb;
  for (const DocumentRef& ref : docs) {
    std::string text, why;
    std::vector<floe_token> tokens;
    auto skip = [&](const std::string& w) {
      std::fprintf(stderr, "floe longdoc compare: %s: %s\n", ref.id.c_str(), w.c_str());
      progress.EndDocument(true);
      return results.Append(Dump(ErrorJson(ref, w)), &error);
    };
    bool ok = ReadDocument(ref, f.run.corpus, &text, &why) &&
              Tokenize(model_a.get(), text, &tokens, &why);
    if (ok && tokens.size() < 2) ok = false, why = "empty document: no token to predict";
    ok = ok && PlanWindows(tokens.size(), a.context, f.run.stride, &a.window, &a.stride, &why) &&
         PlanWindows(tokens.size(), b.context, f.run.stride, &b.window, &b.stride, &why);
    if (!ok) {
      if (!skip(why)) return Fail(error);
      continue;
    }
    Runner ra(a.session, tokens, a.window, a.stride), rb(b.session, tokens, b.window, b.stride);
    progress.StartDocument(text.size(), tokens.size());
    Totals doc;
    for (size_t p = 1; ok && p < tokens.size(); ++p) {
      const float *xa = nullptr, *xb = nullptr;
      ok = ra.Logits(p, &xa, &why) && rb.Logits(p, &xb, &why);
      if (!ok) break;
      const int ta = LogSoftmax(xa, vocab, &la), tb = LogSoftmax(xb, vocab, &lb);
      double kl = 0;
      for (size_t i = 0; i < la.size(); ++i) kl += std::exp(la[i]) * (la[i] - lb[i]);
      doc.kl += kl;
      doc.nll_a -= la[size_t(tokens[p])];
      doc.nll_b -= lb[size_t(tokens[p])];
      doc.agree += ta == tb;
      ++doc.positions;
      progress.Tokens(p);
    }
    if (!ok) {
      if (!skip(why)) return Fail(error);
      continue;
    }
    const double n = double(doc.positions);
    nlohmann::ordered_json j = DocumentJson(ref);
    j["bytes"] = text.size();
    j["tokens"] = tokens.size() - (floe_model_bos(model_a.get()) >= 0 ? 1 : 0);
    j["predicted"] = doc.positions;
    j["perplexity_a"] = std::exp(doc.nll_a / n);
    j["perplexity_b"] = std::exp(doc.nll_b / n);
    j["perplexity_delta"] = std::exp(doc.nll_b / n) - std::exp(doc.nll_a / n);
    j["kl_mean"] = doc.kl / n;
    j["top1_agreement"] = double(doc.agree) / n;
    j["context_a"] = a.window ? "sliding" : "carried";
    j["context_b"] = b.window ? "sliding" : "carried";
    if (!results.Append(Dump(j), &error)) return Fail(error);
    progress.EndDocument();
    ++total.docs;
    total.positions += doc.positions;
    total.agree += doc.agree;
    total.nll_a += doc.nll_a;
    total.nll_b += doc.nll_b;
    total.kl += doc.kl;
  }
  progress.Finish();
  const double n = double(std::max<size_t>(total.positions, 1));
  std::fprintf(stderr,
               "summary: %zu documents, %zu positions: perplexity A %.4f, B %.4f (delta %+.4f); "
               "mean KL(A||B) %.6f nats; top-1 agreement %.4f\n",
               total.docs, total.positions, std::exp(total.nll_a / n), std::exp(total.nll_b / n),
               std::exp(total.nll_b / n) - std::exp(total.nll_a / n), total.kl / n,
               double(total.agree) / n);
  return 0;
}

}  // namespace

cli::Verb AddCompare(CLI::App& longdoc) {
  auto f = std::make_shared<CompareFlags>();
  CLI::App* app = longdoc.add_subcommand(
      "compare", "two settings over the same documents: perplexity delta, KL, top-1 agreement");
  AddRunFlags(app, &f->run);
  app->add_option("--b-model", f->b_model, "B: another model file (same vocabulary); default A's")
      ->check(cli::ExistingInputFile())
      ->type_name("FILE")
      ->group("Setting B");
  app->add_option_function<size_t>(
         "--b-ctx", [f](size_t v) { f->b_session.context_length = v, f->b_ctx_set = true; },
         "B: session context (default: A's)")
      ->check(cli::IntAtLeast(0))
      ->group("Setting B");
  cli::AddAttentionFlags(app, &f->b_session.attention, "b-", "Setting B");
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::longdoc
