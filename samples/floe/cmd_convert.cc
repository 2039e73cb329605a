// floe convert (llama2.c or RWKV-6 -> GGUF) and floe inspect (GGUF summary).
#include <cstdio>
#include <filesystem>

#include "args.h"
#include "commands.h"
#include "runtime/convert_llama2c.h"
#include "runtime/convert_rwkv6.h"
#include "runtime/gguf_transnormer.h"
#include "runtime/gguf_inspect.h"
#include "runtime/gguf_reader.h"

namespace floe::cli {

int RunConvert(int argc, char** argv) {
  Args a(argc, argv, 2, {});
  ConvertLlama2cOptions o;
  o.output_path = a.Get("-o", "--output", "");
  o.model_name = a.Get("--name", "", "");
  if (!a.ok() || a.positional().empty() || a.positional().size() > 2 || o.output_path.empty()) {
    std::fprintf(stderr,
                 "usage: floe convert CHECKPOINT.bin TOKENIZER.bin -o OUT.gguf [--name NAME]   (llama2.c)\n"
                 "       floe convert MODEL -o OUT.gguf [--name NAME]   (RWKV-6: rwkv.cpp, .pth, safetensors;\n"
                 "                                                        TransNormerLLM: HF checkpoint + config.json)\n");
    return 2;
  }
  if (a.positional().size() == 1) {
    const std::string& in = a.positional()[0];
    auto model = Model::Load(in);
    if (!model.ok()) {
      std::fprintf(stderr, "floe convert: %s\n", model.status().ToString().c_str());
      return 1;
    }
    const std::string name = o.model_name.empty() ? std::filesystem::path(in).stem().string() : o.model_name;
    const Status st = (*model)->architecture() == "transnormer"
                          ? ConvertTransnormerToGguf(in, name, o.output_path)
                          : ConvertRwkv6ToGguf(**model, name, o.output_path);
    if (!st.ok()) {
      std::fprintf(stderr, "floe convert: %s\n", st.ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "wrote %s\n", o.output_path.c_str());
    return 0;
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
