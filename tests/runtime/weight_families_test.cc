// WeightFamily / LargestWeightFamilyType on hand-made tensor lists, and Model::weight_type on
// the Mamba reference checkpoint (../shared/data/reference/mamba1, float32 by its README).
#include <string>

#include "runtime/engine/model.h"
#include "runtime/engine/weight_families.h"
#include "test_data.h"

using namespace floe;

namespace {

NamedTensor T(std::string name, DType type, size_t bytes) {
  NamedTensor t;
  t.name = std::move(name);
  t.dtype = type;
  t.bytes = bytes;
  return t;
}

}  // namespace

TEST_CASE("WeightFamily takes out layer indices", "[unit]") {
  CHECK(WeightFamily("blk.0.ffn_up.weight") == "blk.N.ffn_up.weight");
  CHECK(WeightFamily("blk.23.ssm_in.weight") == "blk.N.ssm_in.weight");
  CHECK(WeightFamily("backbone.layers.11.mixer.in_proj.weight") ==
        "backbone.layers.N.mixer.in_proj.weight");
  CHECK(WeightFamily("token_embd.weight") == "token_embd.weight");
  CHECK(WeightFamily("blocks.3.att.time_maa_x") == "blocks.N.att.time_maa_x");
  CHECK(WeightFamily("blk.1x.a") == "blk.1x.a");  // only all-digit parts
  CHECK(WeightFamily("") == "");
  CHECK(WeightFamily("7") == "N");
  CHECK(WeightFamily("a..b.") == "a..b.");
}

TEST_CASE("LargestWeightFamilyType picks the family with most bytes", "[unit]") {
  TensorSet set;
  CHECK(LargestWeightFamilyType(set) == "?");
  // Embedding 1000 bytes in f32 (one tensor); in_proj 3 x 400 = 1200 bytes in f16.
  set.tensors = {T("token_embd.weight", DType::kF32, 1000), T("blk.0.ssm_in.weight", DType::kF16, 400),
                 T("blk.0.ssm_norm.weight", DType::kF32, 10), T("blk.1.ssm_in.weight", DType::kF16, 400),
                 T("blk.2.ssm_in.weight", DType::kF16, 400)};
  CHECK(LargestWeightFamilyType(set) == "f16");
  // A bigger embedding wins.
  set.tensors[0].bytes = 1300;
  CHECK(LargestWeightFamilyType(set) == "f32");
  // Mixed types inside the largest family: the type holding most of its bytes.
  set.tensors[0].bytes = 10;
  set.tensors[1].dtype = DType::kQ8_0;
  set.tensors[3].dtype = DType::kQ8_0;
  CHECK(LargestWeightFamilyType(set) == "q8_0");
}

TEST_CASE("Model::weight_type of the Mamba reference checkpoint", "[unit]") {
  for (const char* file : {"model.safetensors", "model.pth"}) {
    auto m = Model::Load(testing::DataPath(std::string("reference/mamba1/") + file));
    REQUIRE(m.ok());
    CHECK((*m)->architecture() == "mamba");
    CHECK((*m)->weight_type() == "f32");
  }
}
