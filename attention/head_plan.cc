#include "attention/head_plan.h"

namespace floe {

const char* HeadModeName(HeadMode m) {
  switch (m) {
    case HeadMode::kDense:
      return "dense";
    case HeadMode::kKnn:
      return "knn";
    case HeadMode::kWindow:
      return "window";
    case HeadMode::kRecurrent:
      return "recurrent";
  }
  return "unknown";
}

Result<HeadMode> ParseHeadMode(std::string_view name) {
  if (name == "dense") return HeadMode::kDense;
  if (name == "knn") return HeadMode::kKnn;
  if (name == "window") return HeadMode::kWindow;
  if (name == "recurrent") return HeadMode::kRecurrent;
  return InvalidArgument("unknown head mode '" + std::string(name) +
                         "' (choose dense, knn, window or recurrent)");
}

std::string HeadSpec::ToString() const {
  switch (mode) {
    case HeadMode::kKnn:
      return "knn(k=" + std::to_string(k) + ",window=" + std::to_string(window) +
             ",sinks=" + std::to_string(sinks) + ")";
    case HeadMode::kWindow:
      return "window(" + std::to_string(window) + ")";
    default:
      return HeadModeName(mode);
  }
}

size_t ResolvedHeadPlan::count(HeadMode m) const {
  size_t n = 0;
  for (const HeadSpec& s : specs) n += s.mode == m;
  return n;
}

namespace {

Status CheckSpec(const HeadSpec& s, size_t n_ctx, bool allow_recurrent, const std::string& who) {
  auto bad = [&who](const std::string& m) { return InvalidArgument("head plan, " + who + ": " + m); };
  switch (s.mode) {
    case HeadMode::kDense:
      return Status::Ok();
    case HeadMode::kWindow:
      if (s.window == 0) return bad("a window head needs a window of at least 1 key, not 0");
      return Status::Ok();
    case HeadMode::kKnn:
      if (s.k == 0) return bad("knn k (keys retrieved per query) must be at least 1");
      if (s.k > (size_t{1} << 20)) return bad("knn k = " + std::to_string(s.k) + " is implausibly large");
      if (s.window > n_ctx)
        return bad("knn window " + std::to_string(s.window) + " is larger than the context length " +
                   std::to_string(n_ctx));
      if (s.sinks > n_ctx)
        return bad("knn sink count " + std::to_string(s.sinks) +
                   " is larger than the context length " + std::to_string(n_ctx));
      return Status::Ok();
    case HeadMode::kRecurrent:
      if (!allow_recurrent)
        return bad("mode 'recurrent' needs a model with recurrent blocks in place of heads (a "
                   "RecurFormer checkpoint); this model has none: use dense, knn or window");
      return Status::Ok();
  }
  return bad("unknown head mode " + std::to_string(int(s.mode)) +
             " (choose dense, knn, window or recurrent)");
}

}  // namespace

Result<ResolvedHeadPlan> HeadPlan::Resolve(size_t n_layers, size_t n_kv_heads, size_t n_ctx,
                                           bool allow_recurrent) const {
  if (n_layers == 0 || n_kv_heads == 0) return InvalidArgument("head plan: the model has no attention heads");
  FLOE_RETURN_IF_ERROR(CheckSpec(default_spec, n_ctx, allow_recurrent, "default"));
  ResolvedHeadPlan r;
  r.n_layers = n_layers;
  r.n_kv_heads = n_kv_heads;
  r.specs.assign(n_layers * n_kv_heads, default_spec);
  std::vector<bool> named(r.specs.size(), false);
  for (const HeadPlanEntry& e : heads) {
    const std::string who = "layer " + std::to_string(e.layer) + " head " + std::to_string(e.head);
    if (e.layer >= n_layers)
      return InvalidArgument("head plan names " + who + ", but the model has " +
                             std::to_string(n_layers) + " layers (0.." +
                             std::to_string(n_layers - 1) + ")");
    if (e.head >= n_kv_heads)
      return InvalidArgument("head plan names " + who + ", but the model has " +
                             std::to_string(n_kv_heads) + " KV heads per layer (0.." +
                             std::to_string(n_kv_heads - 1) + ")");
    const size_t i = e.layer * n_kv_heads + e.head;
    if (named[i]) return InvalidArgument("head plan names " + who + " twice");
    named[i] = true;
    FLOE_RETURN_IF_ERROR(CheckSpec(e.spec, n_ctx, allow_recurrent, who));
    r.specs[i] = e.spec;
  }
  for (HeadSpec& s : r.specs)
    if (s.mode == HeadMode::kWindow && s.window > n_ctx) s.window = n_ctx;
  return r;
}

}  // namespace floe
