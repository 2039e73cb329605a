// floe: command-line front end over the floe runtime.
#include <cstdio>
#include <cstring>

#include "attention_flags.h"
#include "commands.h"
#include "load_flags.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: floe <command> [options]\n"
               "  generate -m MODEL [-z TOKENIZER] [-p PROMPT] [-n N] [--temp T] [--top-k K] [--top-p P]\n"
               "           [--min-p P] [--repeat-penalty R] [--seed S] [--threads N] [--ctx N] [--kv f32|f16]\n"
               "%s"
               "  logits   -m MODEL [-z TOKENIZER] (-p PROMPT | --tokens FILE) -o OUT.f32 [--threads N]\n"
               "%s"
               "  eval-attention -m MODEL [-z TOKENIZER] -f TEXT --ctx N [--skip-frac F] [--windows K]\n"
               "           [--sample-every S] [--threads N]  (dense vs ice on the same tokens)\n"
               "%s"
               "  convert  CHECKPOINT.bin TOKENIZER.bin -o OUT.gguf   (llama2.c -> GGUF)\n"
               "  convert  RWKV6_MODEL -o OUT.gguf                    (rwkv.cpp / .pth / safetensors -> GGUF)\n"
               "  make-model --arch llama --preset tiny|110m|1b --type f32|f16|q8_0|q4_0 [--seed S] -o OUT.gguf\n"
               "  quantize IN.gguf OUT.gguf --type q8_0|q4_0\n"
               "  bench    -m MODEL [-p 512] [-n 128] [-d 0,1024,4096,16384] [-t 1,2] [-r 3] [--kv f16|f32] [--seqs N] [--json]\n"
               "%s"
               "  inspect  FILE.gguf\n"
               "  compare  A.f32 B.f32 --vocab V [--max-abs X] [--max-kl Y] [--min-top1 Z]\n"
               "generate, logits, eval-attention and bench also take\n%s",
               floe::cli::kAttentionFlagsUsage, floe::cli::kAttentionFlagsUsage,
               floe::cli::kAttentionFlagsUsage, floe::cli::kAttentionFlagsUsage, floe::cli::kLoadFlagsUsage);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    Usage();
    return argc < 2 ? 2 : 0;
  }
  const char* cmd = argv[1];
  if (!std::strcmp(cmd, "generate")) return floe::cli::RunGenerate(argc, argv);
  if (!std::strcmp(cmd, "logits")) return floe::cli::RunLogits(argc, argv);
  if (!std::strcmp(cmd, "convert")) return floe::cli::RunConvert(argc, argv);
  if (!std::strcmp(cmd, "inspect")) return floe::cli::RunInspect(argc, argv);
  if (!std::strcmp(cmd, "compare")) return floe::cli::RunCompare(argc, argv);
  if (!std::strcmp(cmd, "make-model")) return floe::cli::RunMakeModel(argc, argv);
  if (!std::strcmp(cmd, "quantize")) return floe::cli::RunQuantize(argc, argv);
  if (!std::strcmp(cmd, "bench")) return floe::cli::RunBench(argc, argv);
  if (!std::strcmp(cmd, "eval-attention")) return floe::cli::RunEvalAttention(argc, argv);
  std::fprintf(stderr, "floe: unknown command '%s'\n", cmd);
  Usage();
  return 2;
}
