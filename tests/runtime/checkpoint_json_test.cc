// The strict JSON parser: values, escapes, numbers, nesting limit, malformed documents.
#include <string>

#include <catch2/catch.hpp>

#include "runtime/formats/checkpoint/json.h"

using namespace floe;

namespace {

JsonValue Parse(std::string_view text) {
  auto r = ParseJson(text);
  INFO(text << " -> " << r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("json: scalars, arrays, objects keep their order", "[unit]") {
  const JsonValue v = Parse(R"( {"b": [1, -2.5, true, false, null, "x"], "a": {}, "c": []} )");
  REQUIRE(v.is_object());
  REQUIRE(v.members().size() == 3);
  CHECK(v.members()[0].first == "b");
  CHECK(v.members()[1].first == "a");
  const JsonValue& b = *v.Find("b");
  REQUIRE(b.items().size() == 6);
  CHECK(b.items()[0].is_int());
  CHECK(b.items()[0].int_value() == 1);
  CHECK(b.items()[1].number_value() == -2.5);
  CHECK_FALSE(b.items()[1].is_int());
  CHECK(b.items()[2].bool_value());
  CHECK(b.items()[3].is_bool());
  CHECK(b.items()[4].is_null());
  CHECK(b.items()[5].string_value() == "x");
  CHECK(v.Find("a")->is_object());
  CHECK(v.Find("c")->is_array());
  CHECK(v.Find("zzz") == nullptr);
  CHECK(b.Find("x") == nullptr);  // not an object
  CHECK(Parse("7").int_value() == 7);
  CHECK(Parse(" \"s\" ").string_value() == "s");
}

TEST_CASE("json: numbers are doubles, and exact int64 when integral", "[unit]") {
  CHECK(Parse("9223372036854775807").int_value() == INT64_MAX);
  CHECK(Parse("-9223372036854775808").int_value() == INT64_MIN);
  CHECK_FALSE(Parse("9223372036854775808").is_int());  // beyond int64: a double only
  CHECK(Parse("9223372036854775808").number_value() == 9223372036854775808.0);
  CHECK(Parse("9007199254740993").int_value() == 9007199254740993);  // not exact as a double
  CHECK(Parse("1.0").int_value() == 1);
  CHECK(Parse("2e3").int_value() == 2000);
  CHECK(Parse("-0").int_value() == 0);
  CHECK(Parse("1e-05").number_value() == 1e-05);
  CHECK(Parse("0.1").number_value() == 0.1);
  CHECK(Parse("1.5E+2").number_value() == 150.0);
  CHECK_FALSE(Parse("0.5").is_int());
  CHECK(Parse("0.5").AsInt().status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("json: string escapes and UTF-8", "[unit]") {
  CHECK(Parse(R"("a\"b\\c\/d\b\f\n\r\t")").string_value() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(Parse(R"("\u0041\u00e9\u20AC")").string_value() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(Parse(R"("\ud83d\ude00")").string_value() == "\xF0\x9F\x98\x80");  // U+1F600 via surrogates
  CHECK(Parse(R"("\u0000")").string_value() == std::string(1, '\0'));
  CHECK(Parse("\"\xC3\xA9\xF0\x9F\x98\x80\"").string_value() == "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("json: malformed documents are kCorruptData", "[unit]") {
  const char* bad[] = {
      "",
      " ",
      "{",
      "}",
      "[",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{a:1}",
      "{\"a\":1 \"b\":2}",
      "[1 2]",
      "01",
      "-",
      "+1",
      "1.",
      ".5",
      "1e",
      "1e+",
      "NaN",
      "Infinity",
      "-Infinity",
      "1e999",
      "tru",
      "nul",
      "True",
      "'s'",
      "\"abc",
      "\"\\x\"",
      "\"\\u12\"",
      "\"\\u12G4\"",
      "\"\\ud800\"",
      "\"\\udc00\"",
      "\"\\ud800\\u0041\"",
      "\"\\ud800x\"",
      "\"a\nb\"",
      "\"\x01\"",
      "\"\xC3\"",
      "\"\xC0\xAF\"",
      "\"\xED\xA0\x80\"",
      "\"\xF4\x90\x80\x80\"",
      "\"\xFF\"",
      "1 2",
      "{} {}",
      "[]x",
      "{\"a\":1,\"a\":2}",
      "/* c */ 1",
      "\xEF\xBB\xBF{}",
  };
  for (const char* text : bad) {
    auto r = ParseJson(text);
    INFO("input: " << text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kCorruptData);
    CHECK(r.status().message().find("byte") != std::string::npos);
  }
  // Embedded NUL bytes are not whitespace.
  CHECK_FALSE(ParseJson(std::string_view("{}\0", 3)).ok());
}

TEST_CASE("json: nesting is limited, not a stack overflow", "[unit]") {
  const std::string ok_depth = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  CHECK(ParseJson(ok_depth).ok());
  const std::string too_deep =
      std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  auto r = ParseJson(too_deep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("nesting") != std::string::npos);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  CHECK_FALSE(ParseJson(objects).ok());
  CHECK_FALSE(ParseJson(std::string(1000000, '[')).ok());
  JsonLimits shallow;
  shallow.max_depth = 2;
  CHECK(ParseJson("[[1]]", shallow).ok());
  CHECK_FALSE(ParseJson("[[[1]]]", shallow).ok());
  shallow.max_depth = 1 << 30;  // clamped
  CHECK_FALSE(ParseJson(too_deep, shallow).ok());
}

TEST_CASE("json: the value budget caps what a document may build", "[unit]") {
  JsonLimits few;
  few.max_values = 4;
  CHECK(ParseJson("[1, 2, 3]", few).ok());  // the array and three numbers
  auto r = ParseJson("[1, 2, 3, 4]", few);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kCorruptData);
  CHECK(r.status().message().find("more than 4 values") != std::string::npos);
  CHECK_FALSE(ParseJson(R"({"a": {"b": 1}, "c": 2, "d": 3})", few).ok());
}

TEST_CASE("json: typed getters name the key", "[unit]") {
  const JsonValue v = Parse(R"({"n": 3, "f": 0.5, "s": "x", "b": true, "o": {"k": 1}})");
  CHECK(v.GetInt("n").value() == 3);
  CHECK(v.GetNumber("n").value() == 3.0);
  CHECK(v.GetNumber("f").value() == 0.5);
  CHECK(v.GetString("s").value() == "x");
  CHECK(v.GetBool("b").value());
  for (const Status& st :
       {v.GetInt("f").status(), v.GetInt("s").status(), v.GetString("n").status(),
        v.GetBool("o").status(), v.GetNumber("b").status()}) {
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().front() == '\'');
  }
  CHECK(v.GetInt("f").status().message() ==
        "'f': expected an integer, got a non-integral number (or one beyond int64)");
  CHECK(v.GetString("o").status().message() == "'o': expected a string, got an object");
  CHECK(v.GetInt("missing").status().code() == StatusCode::kNotFound);
  CHECK(v.GetInt("missing").status().message().find("missing") != std::string::npos);
  CHECK(Parse("[1]").Get("k").status().code() == StatusCode::kNotFound);
}
