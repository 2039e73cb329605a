#include "attention_flags.h"

#include "checks.h"
#include "runtime/engine/head_plan_json.h"

namespace floe::cli {

void AddAttentionFlags(CLI::App* app, AttentionSettings* s, const std::string& prefix,
                       const std::string& group) {
  // "--knn-k" -> "--" + prefix + "knn-k"
  auto flag = [&prefix](const char* name) { return "--" + prefix + (name + 2); };
  AddParsed<AttentionBackend>(
      app, flag("--attention"), &s->backend,
      [](const std::string& v) { return ParseAttentionBackend(v); }, "dense|ice|faiss",
      AttentionBackendName(s->backend),
      "dense, or kNN attention (IceFormer) searched by DCI or FAISS")
      ->group(group);
  struct Count {
    const char* flag;
    size_t* value;
    const char* help;
  };
  const Count counts[] = {
      {"--knn-k", &s->k, "keys retrieved per query"},
      {"--knn-window", &s->window, "most recent keys always attended"},
      {"--knn-sinks", &s->sinks, "first keys always attended (sinks)"},
      {"--knn-dense-below", &s->dense_below, "attend densely while fewer keys are eligible"},
      {"--knn-search-block", &s->search_block, "queries sharing one kNN search"},
      {"--knn-simple", &s->dci.simple_indices, "Prioritized DCI: simple indices per composite, m"},
      {"--knn-composite", &s->dci.composite_indices, "Prioritized DCI: composite indices, L"},
      {"--knn-candidates", &s->dci.candidates_per_k,
       "Prioritized DCI: candidates per key retrieved, k1 / k"},
      {"--knn-levels", &s->dci.levels, "multi-level DCI: levels"},
      {"--knn-fanout", &s->dci.fanout, "multi-level DCI: expected children per node"},
  };
  for (const Count& c : counts)
    app->add_option(flag(c.flag), *c.value, c.help)->check(IntAtLeast(0))->group(group);
  app->add_option(flag("--knn-search-scale"), s->search_scale, "keys a shared search asks for, x k")
      ->check(Real())
      ->group(group);
  AddParsed<FaissKind>(
      app, flag("--faiss-kind"), &s->faiss.kind,
      [](const std::string& v) { return ParseFaissKind(v); }, "flat|hnsw",
      FaissKindName(s->faiss.kind), "FAISS index: exact, or an HNSW graph")
      ->group(group);
  const Count faiss[] = {
      {"--faiss-m", &s->faiss.hnsw_m, "HNSW M, the graph degree"},
      {"--faiss-ef-search", &s->faiss.ef_search, "HNSW efSearch"},
      {"--faiss-ef-construction", &s->faiss.ef_construction, "HNSW efConstruction"},
  };
  for (const Count& c : faiss)
    app->add_option(flag(c.flag), *c.value, c.help)->check(IntAtLeast(0))->group(group);
  app->add_flag(flag("--gold-kv-cache"), s->gold_kv_cache,
                "GoldFinch: keep the GOLD layers' keys and values (a speed cache for decode)")
      ->group(group);
}

void AddHeadPlanFlag(CLI::App* app, std::optional<HeadPlan>* plan, const std::string& group,
                     std::string* path_out) {
  app->add_option_function<std::string>(
         "--head-plan",
         [plan, path_out](const std::string& path) {
           auto p = LoadHeadPlanFile(path);
           if (!p.ok()) throw CLI::ValidationError("--head-plan", p.status().message());
           *plan = std::move(p).value();
           if (path_out) *path_out = path;
         },
         "per-head attention plan (JSON; floe plan-heads writes one)")
      ->type_name("FILE")
      ->group(group);
}

}  // namespace floe::cli
