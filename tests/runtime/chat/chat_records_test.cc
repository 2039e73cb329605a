// Every record of ../shared/data/chat/templates.jsonl (templates from llama.cpp's tests and real
// Hugging Face models, with jinja2's output) renders byte-exact. The file is read at run time.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/chat/chat_template.h"
#include "runtime/formats/checkpoint/json.h"
#include "test_data.h"

namespace {

std::vector<floe::JsonValue> LoadRecords() {
  const std::string path = floe::testing::DataPath("chat/templates.jsonl");
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::vector<floe::JsonValue> records;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = floe::ParseJson(line);
    REQUIRE(j.ok());
    records.push_back(std::move(*j));
  }
  return records;
}

}  // namespace

TEST_CASE("chat records: all 44 templates render as jinja2 does", "[chat]") {
  const std::vector<floe::JsonValue> records = LoadRecords();
  REQUIRE(records.size() == 44);
  int exact = 0;
  for (const floe::JsonValue& r : records) {
    const std::string name = r.GetString("name").value();
    INFO("record: " << name);
    floe::ChatTemplateInputs in;
    in.bos_token = r.GetString("bos_token").value();
    in.eos_token = r.GetString("eos_token").value();
    in.add_generation_prompt = r.GetBool("add_generation_prompt").value();
    in.strftime_now = r.GetString("strftime_now").value();
    const floe::JsonValue* messages = r.Find("messages");
    REQUIRE(messages);
    auto out = floe::RenderChatTemplate(r.GetString("template").value(), *messages, in);
    if (!out.ok())
      FAIL_CHECK("error: " << out.status().ToString());
    else {
      CHECK(*out == r.GetString("expected").value());
      exact += *out == r.GetString("expected").value();
    }
  }
  CHECK(exact == 44);
}
