// floe compare A.f32 B.f32 --vocab V [--max-abs X] [--max-kl Y] [--min-top1 Z]
// Prints max |a-b|, mean/max KL(A||B) and top-1 agreement of two logits files; exits 1 when a
// given threshold is exceeded (for CI parity jobs), 2 on bad usage or unreadable input.
#include <cstdio>
#include <cstring>
#include <vector>

#include "args.h"
#include "commands.h"
#include "platform/mapped_file.h"
#include "runtime/logits_compare.h"

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

}  // namespace

int RunCompare(int argc, char** argv) {
  Args a(argc, argv, 2, {});
  const long vocab = a.GetInt("--vocab", "", 0);
  const double max_abs = a.GetFloat("--max-abs", "", -1);
  const double max_kl = a.GetFloat("--max-kl", "", -1);
  const double min_top1 = a.GetFloat("--min-top1", "", -1);
  if (!a.ok() || a.positional().size() != 2 || vocab <= 0) {
    std::fprintf(stderr, "%s\n", !a.ok() ? a.error().c_str()
                                         : "usage: floe compare A.f32 B.f32 --vocab V [--max-abs X] "
                                           "[--max-kl Y] [--min-top1 Z]");
    return 2;
  }
  std::vector<float> x, y;
  if (!ReadFloats(a.positional()[0], &x) || !ReadFloats(a.positional()[1], &y)) return 2;
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

}  // namespace floe::cli
