// Errors and limits: bad templates and hostile ones end with an error value, fast.
#include <string>

#include <catch2/catch.hpp>

#include "jinja_test_util.h"

using floe::ChatRenderLimits;
using floe::StatusCode;
using floe::testing::Render;
using floe::testing::RenderT;

namespace {

// The error message, or "" when rendering succeeded.
std::string ErrorOf(const std::string& tpl, const ChatRenderLimits& limits = {}) {
  auto r = RenderT(tpl, "[]", limits);
  if (r.ok()) return "";
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  return r.status().message();
}

}  // namespace

TEST_CASE("jinja errors: syntax", "[chat]") {
  CHECK_THAT(ErrorOf("{% if true %}x"), Catch::Contains("unclosed block"));
  CHECK_THAT(ErrorOf("{{ 1 + }}"), Catch::Contains("line 1"));
  CHECK_THAT(ErrorOf("a\n{{ x"), Catch::Contains("line 2: unclosed expression"));
  CHECK_THAT(ErrorOf("{# x"), Catch::Contains("unclosed comment"));
  CHECK_THAT(ErrorOf("{{ 'abc }}"), Catch::Contains("unclosed string"));
  CHECK_THAT(ErrorOf("{% endfor %}"), Catch::Contains("unknown tag 'endfor'"));
  CHECK_THAT(ErrorOf("{% include 'x' %}"), Catch::Contains("unknown tag 'include'"));
  CHECK_THAT(ErrorOf("{{ x|no_such_filter }}"),
             Catch::Contains("no filter named 'no_such_filter'"));
  CHECK_THAT(ErrorOf("{{ x is no_such_test }}"), Catch::Contains("no test named 'no_such_test'"));
  CHECK_THAT(ErrorOf("{{ (1 }}"), Catch::Contains("unexpected '}'"));
  CHECK_THAT(ErrorOf("{{ (1, 2 ] }}"), Catch::Contains("expected ')'"));
}

TEST_CASE("jinja errors: evaluation", "[chat]") {
  CHECK_THAT(ErrorOf("{{ raise_exception('Roles must alternate') }}"),
             Catch::EndsWith("raise_exception: Roles must alternate"));
  CHECK_THAT(ErrorOf("\n{{ x.y }}"), Catch::Contains("line 2: 'x' is undefined"));
  CHECK_THAT(ErrorOf("{{ x + 'a' }}"), Catch::Contains("'x' is undefined"));
  CHECK_THAT(ErrorOf("{{ 'a' + 1 }}"), Catch::Contains("unsupported operand"));
  CHECK_THAT(ErrorOf("{{ 1 // 0 }}"), Catch::Contains("by zero"));
  CHECK_THAT(ErrorOf("{{ x|tojson }}"), Catch::Contains("not JSON serializable"));
  CHECK_THAT(ErrorOf("{% set x = 1 %}{% set x.a = 2 %}"), Catch::Contains("not a namespace"));
  CHECK_THAT(ErrorOf("{{ 9223372036854775807 + 1 }}"), Catch::Contains("overflow"));
  CHECK(ErrorOf("{{ 1 }}") == "");
}

TEST_CASE("jinja limits: nesting, steps, output, macro recursion, sizes", "[chat]") {
  ChatRenderLimits small;
  small.max_nesting_depth = 16;
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "{% if true %}";
  CHECK_THAT(ErrorOf(deep, small), Catch::Contains("nested too deeply"));
  CHECK_THAT(ErrorOf("{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}", small),
             Catch::Contains("nested too deeply"));
  CHECK_THAT(ErrorOf("{{ " + std::string(100000, '-') + "1 }}", small),
             Catch::Contains("nested too deeply"));

  small.max_steps = 1000;
  CHECK_THAT(ErrorOf("{% for i in range(100000) %}{{ i }}{% endfor %}", small),
             Catch::Contains("step budget"));
  small.max_steps = 10'000'000;
  small.max_output_bytes = 100;
  CHECK_THAT(ErrorOf("{% for i in range(1000) %}xx{% endfor %}", small),
             Catch::Contains("output larger"));
  small.max_macro_depth = 8;
  CHECK_THAT(ErrorOf("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", small),
             Catch::Contains("macro calls nested deeper"));
  small.max_string_bytes = 1000;
  CHECK_THAT(ErrorOf("{{ 'x' * 100000000000 }}", small), Catch::Contains("larger than the limit"));
  CHECK_THAT(
      ErrorOf("{% set s = namespace(v='ab') %}{% for i in range(40) %}{% set s.v = s.v + s.v %}"
              "{% endfor %}",
              small),
      Catch::Contains("longer than the limit"));
  small.max_list_items = 1000;
  CHECK_THAT(ErrorOf("{{ range(10000000000) }}", small), Catch::Contains("range() longer"));
  CHECK_THAT(ErrorOf("{{ [1] * 100000000000 }}", small), Catch::Contains("longer than the limit"));
  small.max_value_depth = 10;
  CHECK_THAT(ErrorOf("{% set ns = namespace(v=[]) %}{% for i in range(50) %}{% set ns.v = [ns.v] %}"
                     "{% endfor %}",
                     small),
             Catch::Contains("nested deeper"));
  CHECK_THAT(ErrorOf("{% set ns = namespace() %}{% set ns.x = ns %}"),
             Catch::Contains("namespace"));
  small.max_template_bytes = 10;
  CHECK_THAT(ErrorOf("{{ 'more than ten bytes' }}", small), Catch::Contains("more than the limit"));
}

TEST_CASE("jinja errors: non-array messages and ChatML fallback", "[chat]") {
  auto r = RenderT("{{ 1 }}", "{}");
  CHECK(!r.ok());
  CHECK(Render("", R"([{"role":"user","content":"hi"}])") ==
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}
