// floe convert (llama2.c -> GGUF) and floe inspect (GGUF summary).
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "runtime/convert_llama2c.h"
#include "runtime/gguf_inspect.h"
#include "runtime/gguf_reader.h"

namespace floe::cli {

int RunConvert(int argc, char** argv) {
  Args a(argc, argv, 2, {});
  ConvertLlama2cOptions o;
  o.output_path = a.Get("-o", "--output", "");
  o.model_name = a.Get("--name", "", "");
  if (!a.ok() || a.positional().size() != 2 || o.output_path.empty()) {
    std::fprintf(stderr, "usage: floe convert CHECKPOINT.bin TOKENIZER.bin -o OUT.gguf [--name NAME]\n");
    return 2;
  }
  o.checkpoint_path = a.positional()[0];
  o.tokenizer_path = a.positional()[1];
  if (Status st = ConvertLlama2cToGguf(o); !st.ok()) {
    std::fprintf(stderr, "floe convert: %s\n", st.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s\n", o.output_path.c_str());
  return 0;
}

int RunInspect(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: floe inspect FILE.gguf\n");
    return 2;
  }
  auto f = GgufFile::Open(argv[2]);
  if (!f.ok()) {
    std::fprintf(stderr, "floe inspect: %s\n", f.status().ToString().c_str());
    return 1;
  }
  std::fputs(FormatGgufSummary(f.value()).c_str(), stdout);
  return 0;
}

}  // namespace floe::cli
