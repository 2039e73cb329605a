#include "runtime/tools/convert_llama2c.h"

#include <filesystem>

#include "runtime/engine/model.h"
#include "runtime/tools/convert_model.h"

namespace floe {

Status ConvertLlama2cToGguf(const ConvertLlama2cOptions& o) {
  LoadOptions options;
  options.tokenizer_path = o.tokenizer_path;
  auto model = Model::Load(o.checkpoint_path, options);
  if (!model.ok()) return model.status();
  if ((*model)->format() != ModelFormat::kLlama2c)
    return InvalidArgument("'" + o.checkpoint_path + "' is not a llama2.c checkpoint");
  const std::string name = o.model_name.empty()
                               ? std::filesystem::path(o.checkpoint_path).stem().string()
                               : o.model_name;
  return ConvertModelToGguf(**model, name, o.output_path);
}

}  // namespace floe
