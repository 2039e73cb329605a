// ModelWriter (platform/base/model_writer.h) onto a GgufWriter: what an architecture's converter
// and random initialisation write through to produce a GGUF file.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "platform/base/model_writer.h"
#include "platform/base/tensor.h"
#include "platform/quant/row_panels.h"
#include "runtime/formats/gguf/gguf_writer.h"

namespace floe {

class GgufModelWriter final : public ModelWriter {
 public:
  explicit GgufModelWriter(GgufWriter& gguf) : gguf_(gguf) {}

  void SetUint32(std::string key, uint32_t v) override { gguf_.SetUint32(std::move(key), v); }
  void SetFloat32(std::string key, float v) override { gguf_.SetFloat32(std::move(key), v); }
  void SetBool(std::string key, bool v) override { gguf_.SetBool(std::move(key), v); }
  void SetString(std::string key, std::string v) override {
    gguf_.SetString(std::move(key), std::move(v));
  }
  void SetInt32Array(std::string key, std::vector<int32_t> v) override {
    gguf_.SetInt32Array(std::move(key), std::move(v));
  }
  Status AddTensor(std::string name, std::vector<uint64_t> shape, DType dtype, const void* data,
                   size_t bytes) override {
    if (IsRowPanels(dtype)) {  // a matrix repacked at load: written in its file layout
      if (shape.size() != 2 || shape[0] % kPanelRows != 0 ||
          bytes != shape[0] * DTypeBytes(dtype, shape[1]))
        return InvalidArgument("tensor '" + name + "': a row-panel matrix of another shape");
      const TensorView panels{dtype, data, size_t(shape[0]), size_t(shape[1])};
      auto* rows = static_cast<uint8_t*>(Keep(bytes));
      for (size_t r = 0; r < panels.rows; ++r)
        RowPanelsRowToBlocks(panels, r, rows + r * panels.row_bytes());
      dtype = PanelBlockType(dtype);
      data = rows;
    }
    std::reverse(shape.begin(), shape.end());  // ggml's ne: innermost first
    if (shape.empty()) shape.push_back(1);
    return gguf_.AddTensor(std::move(name), std::move(shape), uint32_t(dtype), data, bytes);
  }
  void* Keep(size_t bytes) override {
    kept_.push_back(std::make_unique<uint8_t[]>(bytes));
    return kept_.back().get();
  }

 private:
  GgufWriter& gguf_;
  std::vector<std::unique_ptr<uint8_t[]>> kept_;
};

}  // namespace floe
