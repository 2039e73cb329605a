// floe compare A.f32 B.f32 --vocab V [--max-abs X] [--max-kl Y] [--min-top1 Z]
// Prints max |a-b|, mean/max KL(A||B) and top-1 agreement of two logits files; exits 1 when a
// given threshold is exceeded (for CI parity jobs), 2 on bad usage or unreadable input.
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "checks.h"
#include "commands.h"
#include "platform/base/mapped_file.h"
#include "runtime/tools/logits_compare.h"

namespace floe::cli {

namespace {

bool ReadFloats(const std::string& path, std::vector<float>* out) {
  auto f = MappedFile::Open(path, FileLoadMode::kRead);
  if (!f.ok()) {
    std::fprintf(stderr, "floe compare: %s\n", f.status().ToString().c_str());
    return false;
  }
  if (f->size() % sizeof(float) != 0) {
    std::fprintf(stderr, "floe compare: '%s' is %zu bytes, not a whole number of float32 values\n",
                 path.c_str(), f->size());
    return false;
  }
  out->resize(f->size() / sizeof(float));
  if (f->size()) std::memcpy(out->data(), f->data(), f->size());
  return true;
}

struct CompareFlags {
  std::string a, b;
  long vocab = 0;
  double max_abs = -1, max_kl = -1, min_top1 = -1;  // negative: not checked
};

int Run(const CompareFlags& f) {
  const long vocab = f.vocab;
  const double max_abs = f.max_abs, max_kl = f.max_kl, min_top1 = f.min_top1;
  std::vector<float> x, y;
  if (!ReadFloats(f.a, &x) || !ReadFloats(f.b, &y)) return 2;
  auto c = CompareLogits(x, y, size_t(vocab));
  if (!c.ok()) {
    std::fprintf(stderr, "floe compare: %s\n", c.status().ToString().c_str());
    return 2;
  }
  std::printf("rows %zu  vocab %ld\n", c->rows, vocab);
  std::printf("max_abs_diff %.6g (row %zu)\n", c->max_abs_diff, c->max_abs_row);
  std::printf("mean_kl %.6g  max_kl %.6g\n", c->mean_kl, c->max_kl);
  std::printf("top1_agreement %.6f\n", c->top1_agreement);
  if (c->non_finite) std::printf("non_finite %zu\n", c->non_finite);
  bool pass = c->non_finite == 0;
  if (max_abs >= 0 && c->max_abs_diff > max_abs) pass = false;
  if (max_kl >= 0 && c->mean_kl > max_kl) pass = false;
  if (min_top1 >= 0 && c->top1_agreement < min_top1) pass = false;
  std::printf("%s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}

}  // namespace

Verb AddCompare(CLI::App& floe) {
  auto f = std::make_shared<CompareFlags>();
  CLI::App* app = floe.add_subcommand("compare",
                                      "compare two logits files: max |a-b|, KL, top-1 agreement; "
                                      "exit 1 when a threshold is missed");
  app->add_option("A", f->a, "first logits file (float32 rows of --vocab)")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE");
  app->add_option("B", f->b, "second logits file")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE");
  app->add_option("--vocab", f->vocab, "values per row")->required()->check(IntAtLeast(1));
  app->add_option("--max-abs", f->max_abs, "fail when max |a-b| exceeds X; negative: not checked")
      ->check(Real());
  app->add_option("--max-kl", f->max_kl,
                  "fail when the mean KL(A||B) exceeds Y; negative: not checked")
      ->check(Real());
  app->add_option("--min-top1", f->min_top1,
                  "fail when top-1 agreement is below Z; negative: not checked")
      ->check(Real());
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
