// floe_chat_render through the C API: templates, ChatML, buffer sizes, errors.
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "floe/floe.h"

TEST_CASE("floe_chat_render: a template with bos/eos and no generation prompt", "[chat]") {
  const char* tpl =
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor "
      "%}"
      "{% if add_generation_prompt %}[assistant]{% endif %}{{ strftime_now('%Y') }}";
  const char* msgs = R"([{"role":"user","content":"hi"}])";
  floe_chat_params p = floe_chat_default_params();
  p.bos_token = "<s>";
  p.eos_token = "</s>";
  p.add_generation_prompt = 0;
  p.strftime_now = "2024";
  char buf[256];
  size_t n = 0;
  REQUIRE(floe_chat_render(tpl, msgs, &p, buf, sizeof buf, &n) == FLOE_OK);
  CHECK(std::string(buf, n) == "<s>[user]hi</s>2024");
  CHECK(buf[n] == '\0');
}

TEST_CASE("floe_chat_render: NULL template renders ChatML, small buffer", "[chat]") {
  const char* msgs = R"([{"role":"user","content":"hi"}])";
  const std::string want = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
  size_t n = 0;
  CHECK(floe_chat_render(nullptr, msgs, nullptr, nullptr, 0, &n) == FLOE_ERR_OUT_OF_RANGE);
  CHECK(n == want.size());
  char small[8];
  CHECK(floe_chat_render("", msgs, nullptr, small, sizeof small, &n) == FLOE_ERR_OUT_OF_RANGE);
  CHECK(n == want.size());
  std::string buf(n, '\0');  // exactly the size: no NUL written
  REQUIRE(floe_chat_render(nullptr, msgs, nullptr, buf.data(), buf.size(), &n) == FLOE_OK);
  CHECK(buf == want);
}

TEST_CASE("floe_chat_render: template errors are INVALID_ARGUMENT with a message", "[chat]") {
  size_t n = 0;
  char buf[64];
  CHECK(floe_chat_render("{{ raise_exception('no system role') }}", "[]", nullptr, buf, sizeof buf,
                         &n) == FLOE_ERR_INVALID_ARGUMENT);
  CHECK(std::strstr(floe_last_error(), "no system role") != nullptr);
  CHECK(floe_chat_render("{% if %}", "[]", nullptr, buf, sizeof buf, &n) ==
        FLOE_ERR_INVALID_ARGUMENT);
  CHECK(floe_chat_render("{{ 1 }}", "not json", nullptr, buf, sizeof buf, &n) ==
        FLOE_ERR_INVALID_ARGUMENT);
}
